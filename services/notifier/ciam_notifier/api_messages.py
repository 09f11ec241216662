"""Marketing messages over HTTP: an app asks, the notifier decides (fail closed) and sends."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from ciam_notifier import repository
from ciam_notifier.auth import AppDep
from ciam_notifier.errors import MessageNotFound
from ciam_notifier.models import Message
from ciam_notifier.parts import PartsDep
from ciam_notifier.service import messages
from ciam_notifier.service.sending import MessageWorker
from ciam_shared.http.openapi import BEARER, problem_responses
from ciam_shared.service import SessionDep

router = APIRouter(prefix="/v1/messages", tags=["messages"], responses=problem_responses(*BEARER))


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_id: uuid.UUID
    purpose: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
    channel: Literal["email", "sms"]
    brand: Annotated[str | None, Field(max_length=100)] = None
    to: Annotated[str, Field(min_length=3, max_length=320)]
    title: Annotated[str | None, Field(max_length=300)] = None
    body: Annotated[str, Field(min_length=1, max_length=20_000)]


class MessageOut(BaseModel):
    id: uuid.UUID
    status: str
    reason: str | None
    requested_at: datetime
    sent_at: datetime | None


def _out(message: Message) -> MessageOut:
    return MessageOut(
        id=message.id,
        status=message.status,
        reason=message.reason,
        requested_at=message.requested_at,
        sent_at=message.sent_at,
    )


async def _worker(parts: PartsDep) -> MessageWorker:
    return parts.messages


WorkerDep = Annotated[MessageWorker, Depends(_worker)]


@router.post("", status_code=status.HTTP_202_ACCEPTED, responses=problem_responses(400, 409))
async def send(body: MessageIn, session: SessionDep, app: AppDep, worker: WorkerDep) -> MessageOut:
    message = await messages.request_send(
        session,
        worker.view,
        messages.Request(
            app,
            body.subject_id,
            body.purpose,
            body.channel,
            body.brand,
            body.to,
            body.title,
            body.body,
        ),
        channels=worker.channels,
        settle=worker.settle,
        apps=worker.apps,
    )
    return _out(message)


@router.get("/{message_id}", responses=problem_responses(404))
async def get_message(message_id: uuid.UUID, session: SessionDep, app: AppDep) -> MessageOut:
    message = await repository.message(session, message_id)
    if message is None or message.app != app:
        raise MessageNotFound(f"No message {message_id}.")
    return _out(message)
