"""The SMTP sender against a minimal local SMTP server: a 5xx reply is permanent, a refused connection transient."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from clientbase.stack.ports import free_ports

from notify.mailer import Mailer
from notify.providers import DeliveryError


@asynccontextmanager
async def smtp_server(rcpt_reply: bytes) -> AsyncIterator[int]:
    """An SMTP server that answers RCPT TO with `rcpt_reply` and accepts everything else."""
    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 test ESMTP\r\n")
        in_data = False
        while line := await reader.readline():
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    writer.write(b"250 queued\r\n")
                continue
            verb = line[:4].upper()
            reply = {b"EHLO": b"250 test\r\n", b"HELO": b"250 test\r\n", b"MAIL": b"250 ok\r\n", b"RCPT": rcpt_reply,
                     b"DATA": b"354 go on\r\n", b"QUIT": b"221 bye\r\n"}.get(verb, b"250 ok\r\n")
            in_data = verb == b"DATA"
            writer.write(reply)
            await writer.drain()
            if verb == b"QUIT":
                break
        writer.close()

    port = free_ports(1)[0]
    server = await asyncio.start_server(session, "127.0.0.1", port)
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


def mailer(port: int) -> Mailer:
    return Mailer(host="127.0.0.1", port=port, sender="ClientBase <no-reply@clientbase.example>", timeout_s=5)


def message(m: Mailer) -> object:
    return m.build(to="gone@mail.example", subject="Тема", body="Текст", message_id="<r1@clientbase.example>",
                   headers={"List-Unsubscribe": "<http://x/unsubscribe?t=" + "a" * 200 + ">"})


async def test_an_accepted_message_names_the_smtp_provider() -> None:
    async with smtp_server(b"250 ok\r\n") as port:
        m = mailer(port)
        assert await m.send(message(m)) == "smtp"  # type: ignore[arg-type]


async def test_a_5xx_recipient_refusal_is_permanent() -> None:
    async with smtp_server(b"550 5.1.1 no such user\r\n") as port:
        m = mailer(port)
        with pytest.raises(DeliveryError) as refused:
            await m.send(message(m))  # type: ignore[arg-type]
    assert refused.value.permanent


async def test_a_4xx_reply_or_no_server_is_transient() -> None:
    async with smtp_server(b"451 4.3.0 try later\r\n") as port:
        m = mailer(port)
        with pytest.raises(DeliveryError) as later:
            await m.send(message(m))  # type: ignore[arg-type]
    assert not later.value.permanent
    m = mailer(free_ports(1)[0])
    with pytest.raises(DeliveryError) as down:
        await m.send(message(m))  # type: ignore[arg-type]
    assert not down.value.permanent


def test_long_link_headers_are_not_folded_or_encoded() -> None:
    from notify.mailer import SMTP_POLICY

    m = mailer(1)
    raw = message(m).as_bytes(policy=SMTP_POLICY)  # type: ignore[attr-defined]
    assert b"List-Unsubscribe: <http://x/unsubscribe?t=" + b"a" * 200 + b">\r\n" in raw
