from datetime import UTC, datetime, timedelta

from ciam_shared.backoff import Backoff


def test_the_wait_doubles_per_attempt_up_to_the_cap_jittered_over_its_upper_half() -> None:
    policy = Backoff(base_seconds=1.0, cap_seconds=60.0)
    for attempts, ceiling in [(0, 1.0), (1, 1.0), (2, 2.0), (5, 16.0), (20, 60.0)]:
        delays = [policy.delay(attempts) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > 0  # jittered


def test_the_next_attempt_is_due_after_the_jittered_wait() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    due = Backoff(base_seconds=30.0, cap_seconds=3600.0).after(3, now)
    assert now + timedelta(seconds=60) <= due <= now + timedelta(seconds=120)
