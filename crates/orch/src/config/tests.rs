//! The config's tests: the default file, partial files, and every refusal with its line
//! and key.

use super::*;

#[test]
fn a_zone_is_found_by_its_file_or_the_database_and_odd_names_are_refused() {
    let t = jiff::Timestamp::from_second(1_780_000_000).unwrap();
    let seoul = zone("Asia/Seoul").unwrap();
    assert_eq!(seoul.iana_name(), Some("Asia/Seoul"));
    assert_eq!(seoul.to_offset(t), jiff::tz::TimeZone::get("Asia/Seoul").unwrap().to_offset(t));
    assert_eq!(zone("asia/seoul").unwrap().to_offset(t), seoul.to_offset(t), "any case, by the database");
    assert!(zone("UTC").is_some());
    for bad in ["", "../../etc/passwd", "/etc/localtime", "Nowhere/Land", "Asia//Seoul"] {
        assert!(zone(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn the_default_file_is_the_default() {
    let c = Config::parse(DEFAULT_TOML).unwrap();
    assert_eq!(c.dispatcher.lease.as_secs(), 900);
    assert_eq!(c.retry.backoff.len(), 3);
    assert_eq!(c.queue.prefix, "ORCH");
    // The written file and the built-in defaults agree.
    assert_eq!(format!("{c:?}"), format!("{:?}", Config::default()));
}

#[test]
fn partial_files_take_defaults() {
    let c = Config::parse("[queue]\nprefix = \"JOB\"\n").unwrap();
    assert_eq!((c.queue.prefix.as_str(), c.queue.done_kept), ("JOB", 50));
    assert_eq!((c.queue.open_kept, c.open_kept()), (300, Some(300)));
}

#[test]
fn open_kept_is_bounded_and_0_shows_every_open_task() {
    assert_eq!(Config::parse("[queue]\nopen_kept = 0\n").unwrap().open_kept(), None);
    assert_eq!(Config::parse("[queue]\nopen_kept = 100000\n").unwrap().open_kept(), Some(100_000));
    let e = Config::parse("[queue]\nopen_kept = 100001\n").unwrap_err();
    assert_eq!(e, "2: queue.open_kept: must be at most 100000 (0 shows every open task)");
    let e = Config::parse("[queue]\nopen_kept = -3\n").unwrap_err();
    assert_eq!(e, "2: queue.open_kept: invalid value: integer `-3`, expected a whole number, 0 or more");
}

#[test]
fn bad_files_name_line_and_key() {
    let e = Config::parse("[queue]\nprefix = \"JOB\"\ncolour = 1\n").unwrap_err();
    assert!(e.starts_with("3: queue.colour: unknown field `colour`"), "{e}");
    let e = Config::parse("[dispatcher]\nlease = \"soon\"\n").unwrap_err();
    assert!(e.starts_with("2: dispatcher.lease: ") && e.contains("bad duration"), "{e}");
    let e = Config::parse("[dispatcher]\nworkers = 9\n").unwrap_err();
    assert_eq!(e, "2: dispatcher.workers: 9 is over dispatcher.hard_cap (5)");
    let e = Config::parse("[team]\nhard_cap = 6\n").unwrap_err();
    assert_eq!(e, "2: team.hard_cap: must be between 1 and 5");
    let e = Config::parse("[queue]\ntimezone = \"Mars/Base\"\n").unwrap_err();
    assert_eq!(e, "2: queue.timezone: unknown time zone `Mars/Base`");
}

#[test]
fn a_value_of_the_wrong_type_names_its_key() {
    let text = "[queue]\nprefix = \"JOB\"\n\n# the view\ndone_kept = -1\n";
    let e = Config::parse(text).unwrap_err();
    assert_eq!(e, "5: queue.done_kept: invalid value: integer `-1`, expected a whole number, 0 or more");
    let e = Config::parse("[gate]\ncompact_report = \"yes\"\n").unwrap_err();
    assert!(e.starts_with("2: gate.compact_report: invalid type: string \"yes\", expected a boolean"), "{e}");
    let e = Config::parse("[worker]\ncommand = \"claude -p\"\n").unwrap_err();
    assert!(e.starts_with("2: worker.command: invalid type: string \"claude -p\", expected a list"), "{e}");
    let e = Config::parse("[retry]\nbackoff = [\"1m\", \"later\"]\n").unwrap_err();
    assert!(e.starts_with("2: retry.backoff: ") && e.contains("later"), "{e}");
}

#[test]
fn values_out_of_range_are_refused_with_their_line_and_key() {
    let cases = [
        ("[retry]\nbackoff = []\n", "2: retry.backoff: needs at least one delay"),
        ("[alerts]\nstale = 1\nfailure_rate = 7\n", "3: alerts.failure_rate: 7 is not a rate between 0 and 1"),
        ("[alerts]\nfailure_rate = -0.5\n", "2: alerts.failure_rate: -0.5 is not a rate"),
        ("[retry]\njitter = 2.0\n", "2: retry.jitter: 2 is not between 0 and 1"),
        ("[dispatcher]\nlease = \"1s\"\n", "2: dispatcher.lease: must be at least 3s"),
        ("[budget]\ndaily_cost_usd = -1\n", "2: budget.daily_cost_usd: -1 is not a cost"),
        ("[worker]\ntimeout = \"0s\"\n", "2: worker.timeout: must be longer than 0s"),
        ("[worker]\npermanent_exit_codes = [64, 0]\n", "2: worker.permanent_exit_codes: 0 is not an exit code"),
        ("[gate]\nsoft_tokens = 9000\n", "2: gate.soft_tokens: must not be over gate.hard_tokens"),
        ("[alerts]\nlatency_p95 = \"0s\"\n", "2: alerts.latency_p95: must be longer than 0s"),
        ("[dispatcher]\nhard_cap = 0\nworkers = 0\n", "2: dispatcher.hard_cap: must be at least 1"),
    ];
    for (text, want) in cases {
        let e = Config::parse(text).unwrap_err();
        assert!(e.starts_with(want), "{text:?}: got {e:?}, want {want:?}…");
    }
    // A key the file does not set: no line to name, the key still named.
    let e = Config::parse("[dispatcher]\nhard_cap = 2\n").unwrap_err();
    assert_eq!(e, " dispatcher.workers: 3 is over dispatcher.hard_cap (2)");
}

#[test]
fn durations_past_their_limits_are_refused_with_their_line_and_key() {
    let cases = [
        (
            "[dispatcher]\nlease = \"999999999h\"\n",
            "2: dispatcher.lease: bad duration `999999999h`: longer than 36525d",
        ),
        ("[dispatcher]\nlease = \"8d\"\n", "2: dispatcher.lease: 192h is longer than 7d, the most allowed"),
        ("[retry]\nbackoff = [\"1m\", \"31d\"]\n", "2: retry.backoff: a delay of 744h is longer than 30d"),
        ("[retry]\nbackoff = [\"1m\", \"70000000h\"]\n", "2: retry.backoff: bad duration `70000000h`"),
        ("[worker]\ntimeout = \"31d\"\n", "2: worker.timeout: 744h is longer than 30d"),
        ("[worker]\ngrace = \"2h\"\n", "2: worker.grace: 2h is longer than 1h"),
        ("[gate]\nreviewer_timeout = \"31d\"\n", "2: gate.reviewer_timeout: 744h is longer than 30d"),
        ("[alerts]\nlatency_p95 = \"36526d\"\n", "2: alerts.latency_p95: bad duration `36526d`"),
    ];
    for (text, want) in cases {
        let e = Config::parse(text).unwrap_err();
        assert!(e.starts_with(want), "{text:?}: got {e:?}, want {want:?}…");
    }
    let c = Config::parse("[dispatcher]\nlease = \"7d\"\n[retry]\nbackoff = [\"30d\"]\n").unwrap();
    assert_eq!(c.dispatcher.lease, MAX_LEASE);
}

#[test]
fn an_argv_without_a_program_and_a_mask_that_cannot_mask_are_refused_with_their_line_and_key() {
    let cases = [
        ("[worker]\ncommand = [\"\"]\n", "2: worker.command: the first word must name a program (it is empty)"),
        ("[worker]\ncommand = [\" \", \"x\"]\n", "2: worker.command: the first word must name a program"),
        ("[worker]\ncommand = []\n", "2: worker.command: must name a program"),
        ("[worker]\ncommand = [\"sh\", \"a\\u0000b\"]\n", "2: worker.command: word 2 holds a NUL byte"),
        ("[gate]\nreviewer = [\"\"]\n", "2: gate.reviewer: the first word must name a program"),
        ("[events]\n\nmask = ['(x{1000}){1000}']\n", "3: events.mask: `(x{1000}){1000}` cannot be compiled: "),
        ("[events]\nmask = ['ok', '']\n", "2: events.mask: pattern 2 is empty"),
        ("[events]\nmask = ['.*']\n", "2: events.mask: `.*` matches the empty text"),
    ];
    for (text, want) in cases {
        let e = Config::parse(text).unwrap_err();
        assert!(e.starts_with(want), "{text:?}: got {e:?}, want {want:?}…");
    }
    assert!(Config::parse("[gate]\nreviewer = []\n").is_ok(), "no reviewer is allowed");
}

#[test]
fn profiles_are_read_with_their_defaults_and_default_is_always_there() {
    let text = "[profiles.fast]\ncommand = [\"sh\", \"-c\", \"echo {id}\"]\nworkers = 3\ntimeout = \"5m\"\n\
                env = [\"API_KEY\"]\nmodel = \"small\"\n\n[profiles.slow]\ncommand = [\"sh\"]\n";
    let c = Config::parse(text).unwrap();
    let fast = &c.profiles["fast"];
    assert_eq!(
        (fast.workers, fast.timeout, fast.env.as_slice()),
        (3, Some(SignedDuration::from_mins(5)), &["API_KEY".to_string()][..])
    );
    assert_eq!((fast.model.as_deref(), fast.agent.as_deref()), (Some("small"), None));
    let slow = &c.profiles["slow"];
    assert_eq!((slow.workers, slow.timeout), (1, None), "one worker and worker.timeout unless told");
    assert_eq!(c.profile_names(), ["default", "fast", "slow"]);
    assert!(c.has_profile("default") && c.has_profile("fast") && !c.has_profile("other"));
    assert!(Config::default().profiles.is_empty());
}

#[test]
fn bad_profiles_are_refused_with_their_line_and_key() {
    let cases = [
        ("[profiles.fast]\nworkers = 2\n", "1: profiles.fast: missing field `command`"),
        ("[profiles.fast]\ncommand = [\"sh\"]\ncolour = 1\n", "3: profiles.fast.colour: unknown field `colour`"),
        ("[profiles.default]\ncommand = [\"sh\"]\n", "1: profiles.default: `default` is [worker] itself"),
        ("[profiles.\"9x\"]\ncommand = [\"sh\"]\n", "1: profiles.9x: `9x` is not a profile name"),
        ("[profiles.fast]\ncommand = []\n", "2: profiles.fast.command: must name a program"),
        (
            "[profiles.fast]\ncommand = [\"sh\"]\nworkers = 0\n",
            "3: profiles.fast.workers: must be between 1 and dispatcher.hard_cap (5)",
        ),
        (
            "[profiles.fast]\ncommand = [\"sh\"]\nworkers = 6\n",
            "3: profiles.fast.workers: must be between 1 and dispatcher.hard_cap (5)",
        ),
        ("[profiles.fast]\ncommand = [\"sh\"]\ntimeout = \"0s\"\n", "3: profiles.fast.timeout: must be longer than 0s"),
        (
            "[profiles.fast]\ncommand = [\"sh\"]\ntimeout = \"31d\"\n",
            "3: profiles.fast.timeout: 744h is longer than 30d",
        ),
        (
            "[profiles.fast]\ncommand = [\"sh\"]\nenv = [\"A=B\"]\n",
            "3: profiles.fast.env: `A=B` is not the name of an environment variable",
        ),
    ];
    for (text, want) in cases {
        let e = Config::parse(text).unwrap_err();
        assert!(e.starts_with(want), "{text:?}: got {e:?}, want {want:?}…");
    }
}

#[test]
fn hooks_are_argvs_with_a_bounded_timeout() {
    let c = Config::parse("[hooks]\non_done = [\"notify-send\", \"{id} done\"]\ntimeout = \"3s\"\n").unwrap();
    assert_eq!(c.hooks.on_done, ["notify-send", "{id} done"]);
    assert_eq!((c.hooks.timeout.as_secs(), c.hooks.any()), (3, true));
    assert!(!Config::default().hooks.any());
    assert_eq!(Config::default().hooks.timeout.as_secs(), 10);
    let e = Config::parse("[hooks]\non_idle = [\"\"]\n").unwrap_err();
    assert_eq!(e, "2: hooks.on_idle: the first word must name a program (it is empty)");
    let e = Config::parse("[hooks]\ntimeout = \"0s\"\n").unwrap_err();
    assert_eq!(e, "2: hooks.timeout: must be longer than 0s");
    let e = Config::parse("[hooks]\ntimeout = \"2h\"\n").unwrap_err();
    assert!(e.starts_with("2: hooks.timeout: 2h is longer than"), "{e}");
    let e = Config::parse("[hooks]\non_start = [\"x\"]\n").unwrap_err();
    assert!(e.starts_with("2: hooks.on_start: unknown field"), "{e}");
}
