//! Property tests of request conversion (a bounded fuzz run in CI): any request converts or is
//! refused with INVALID_ARGUMENT naming a field; nothing panics; what converts is kept whole.

use orchestrator_grpc::{convert, pb};
use proptest::prelude::*;

fn suite() -> impl Strategy<Value = pb::TestSuite> {
    (".{0,12}", prop::sample::select(vec!["", "python", "py", "cobol", "🦀"]), ".{0,40}", any::<i32>()).prop_map(
        |(name, language, code, timeout_seconds)| pb::TestSuite {
            name,
            language: language.into(),
            code,
            timeout_seconds,
        },
    )
}

fn request() -> impl Strategy<Value = pb::DeliberateRequest> {
    (
        ".{0,40}",
        prop::sample::select(vec!["DEV", "qa", "", "CHEF", "🦀"]),
        ".{0,20}",
        prop::collection::vec(".{0,10}", 0..4),
        prop::collection::hash_map(".{0,6}", ".{0,6}", 0..3),
        any::<i32>(),
        any::<i32>(),
        prop::collection::vec(suite(), 0..3),
        any::<i32>(),
        any::<i32>(),
        prop::sample::select(vec!["", "best_of_n", "Self-Consistency", "debate"]),
    )
        .prop_map(
            |(
                task,
                role,
                rubric,
                requirements,
                metadata,
                max_iterations,
                timeout_seconds,
                tests,
                rounds,
                n,
                strategy,
            )| {
                pb::DeliberateRequest {
                    task_description: task,
                    role: role.into(),
                    constraints: Some(pb::TaskConstraints {
                        rubric,
                        requirements,
                        metadata,
                        max_iterations,
                        timeout_seconds,
                        tests,
                    }),
                    rounds,
                    num_agents: n,
                    strategy: strategy.into(),
                    max_calls: 0,
                    max_tokens_total: 0,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn conversion_never_panics_and_errors_name_a_field(r in request()) {
        let c = r.constraints.clone().unwrap();
        match convert::request(r.clone()) {
            Ok(q) => {
                prop_assert!(r.rounds >= 0 && r.num_agents >= 0 && c.max_iterations >= 0 && c.timeout_seconds >= 0);
                prop_assert!(c.tests.iter().all(|t| t.timeout_seconds >= 0));
                prop_assert!(r.strategy != "debate");
                prop_assert_eq!(q.strategy.map(|s| s.as_str()), match r.strategy.as_str() {
                    "" => None,
                    "Self-Consistency" => Some("self_consistency"),
                    other => Some(other),
                });
                prop_assert_eq!(q.task_description, r.task_description);
                prop_assert_eq!(q.constraints.tests.len(), c.tests.len());
                for (a, b) in q.constraints.tests.iter().zip(&c.tests) {
                    prop_assert_eq!(&a.code, &b.code);
                    prop_assert_eq!(a.timeout_seconds as i32, b.timeout_seconds);
                }
                prop_assert_eq!(q.constraints.requirements, c.requirements);
            }
            Err(e) => {
                prop_assert_eq!(e.kind(), orchestrator_core::ErrorKind::InvalidInput);
                let msg = e.to_string();
                let bad_strategy = msg.starts_with("invalid strategy:") && r.strategy == "debate";
                prop_assert!(bad_strategy || (msg.starts_with("invalid ") && msg.contains("negative")), "{}", msg);
            }
        }
    }
}
