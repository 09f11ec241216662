"""Registration and reset requests are durable jobs: the request commits the job (never the
plaintext password), a worker on any instance does it once, even after a restart."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.accounts.service.accounts import REGISTER
from ciam_auth.models import Account, AccountJob
from ciam_auth.queues.jobs import Jobs
from ciam_devtools.testing.plugin import eventually
from ciam_shared.db import create_session_factory, unit_of_work

from ..conftest import PASSWORD, Mailbox, Stack, body_of, token_in


async def accounts(stack: Stack) -> list[Account]:
    async with create_session_factory(stack.engine)() as session:
        return list((await session.scalars(select(Account))).all())


async def no_jobs(stack: Stack) -> bool:
    return await stack.waiting_jobs() == []


async def test_registration_survives_a_restart_between_the_answer_and_the_job(
    stack: Stack, mailbox: Mailbox
) -> None:
    async with stack.instance(mailbox.port, queue_workers_enabled=False) as stopped:
        response = await stopped.client.post(
            "/v1/accounts", json={"email": "ada@example.com", "password": PASSWORD}
        )
        assert response.status_code == 202, response.text
    (job,) = await stack.waiting_jobs()
    assert job.kind == REGISTER and job.email == "ada@example.com"
    assert job.password_hash.startswith("$argon2id$")
    assert all(PASSWORD not in str(value) for value in job)  # the hash only, never the password
    assert await accounts(stack) == [] and mailbox.messages == []

    async with stack.instance(mailbox.port) as restarted:
        mail = await mailbox.wait_for("ada@example.com")
        await eventually(lambda: no_jobs(stack))
        verified = await restarted.client.post(
            "/v1/email-verifications", json={"token": token_in(mail)}
        )
        assert verified.status_code == 200, verified.text
    (account,) = await accounts(stack)
    assert account.password_hash == job.password_hash and account.email_verified_at is not None


async def test_a_known_address_gets_the_already_registered_mail_after_a_restart(
    stack: Stack, mailbox: Mailbox
) -> None:
    async with stack.instance(mailbox.port) as first:
        await first.client.post(
            "/v1/accounts", json={"email": "bob@example.com", "password": PASSWORD}
        )
        await mailbox.wait_for("bob@example.com")
    async with stack.instance(mailbox.port, queue_workers_enabled=False) as stopped:
        again = await stopped.client.post(
            "/v1/accounts", json={"email": "bob@example.com", "password": "another " + PASSWORD}
        )
        reset = await stopped.client.post("/v1/password-resets", json={"email": "bob@example.com"})
        assert again.status_code == reset.status_code == 202
    assert len(await stack.waiting_jobs()) == 2
    async with stack.instance(mailbox.port):
        await mailbox.wait_for("bob@example.com", count=3)
        await eventually(lambda: no_jobs(stack))
    subjects = sorted(str(m["Subject"]) for m in mailbox.to("bob@example.com"))
    assert len(subjects) == 3 and len(set(subjects)) == 3  # verify, already registered, reset
    assert len(await accounts(stack)) == 1


async def test_two_workers_run_each_job_once(stack: Stack, mailbox: Mailbox) -> None:
    addresses = [f"w{i}@example.com" for i in range(12)]
    # Two replicas whose loops are off: the test drives their workers at the same time.
    async with (
        stack.instance(mailbox.port, queue_workers_enabled=False) as one,
        stack.instance(mailbox.port, queue_workers_enabled=False) as two,
    ):
        for address in addresses:
            answer = await one.client.post(
                "/v1/accounts", json={"email": address, "password": PASSWORD}
            )
            assert answer.status_code == 202

        async def drain(jobs: Jobs) -> int:
            done = 0
            while await jobs.run_due():
                done += 1
            return done

        done = await asyncio.gather(drain(one.ctx.jobs), drain(two.ctx.jobs))
        assert sum(done) == len(addresses)
    assert await stack.waiting_jobs() == []
    assert sorted(a.email or "" for a in await accounts(stack)) == sorted(addresses)
    # One verification mail each, staged once: a job run twice would have staged two.
    async with stack.instance(mailbox.port):
        for address in addresses:
            await mailbox.wait_for(address)
        await eventually(lambda: _no_mail(stack))
    assert sorted(m["To"] for m in mailbox.messages) == sorted(addresses)
    assert all("token=" in body_of(m) for m in mailbox.messages)


async def test_a_failing_job_is_rolled_back_retried_then_given_up(
    stack: Stack, mailbox: Mailbox
) -> None:
    runs: list[int] = []

    async def half_done(session: AsyncSession, job: AccountJob) -> None:
        runs.append(job.attempts)
        session.add(Account(email=job.email, password_hash=None, locale="en"))
        await session.flush()  # written, then undone with the savepoint
        raise RuntimeError("the job failed half way")

    async with stack.instance(mailbox.port, job_max_attempts=3) as instance:
        instance.ctx.jobs.on("half-done", half_done)
        async with unit_of_work(instance.ctx.db) as session:
            instance.ctx.jobs.submit(session, "half-done", email="x@example.com")
            instance.ctx.jobs.submit(session, "no-such-kind", email="y@example.com")
        await eventually(lambda: no_jobs(stack))
    assert runs == [0, 1, 2]
    assert await accounts(stack) == [] and mailbox.messages == []


async def _no_mail(stack: Stack) -> bool:
    return await stack.mail_count() == 0
