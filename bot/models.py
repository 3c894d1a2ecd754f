"""What the bot keeps about inbound WeChat messages: one row per message, so none is handled twice."""

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import UTCDateTime, db, utcnow


class InboundMessage(db.Model):
    """One WeChat message or event, claimed before it is handled; `reply` is what every retry is answered.

    `key` is "msg:<MsgId>" for messages and "evt:<openid>:<CreateTime>:<Event>" for events (which have no MsgId).
    Its primary-key constraint is the lasting guarantee that a message acts once; Redis only answers faster.
    """

    __tablename__ = "wechat_inbound"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(48))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reply: Mapped[str | None] = mapped_column(Text)  # the reply text; "" means the answer was plain "success"
    # Queued reply mode: the decrypted message XML, the outbox job that handles it (its id also orders one
    # citizen's messages), and when / how the reply was pushed ("custom", "template", "none"; "" = nothing to say).
    payload: Mapped[str | None] = mapped_column(Text)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_via: Mapped[str | None] = mapped_column(String(16))


class UsedNonce(db.Model):
    """A callback's (timestamp, nonce) once its message was accepted, with a digest of the body it carried: the
    replay guard's durable record, decisive when Redis cannot answer (down) or could have forgotten (flushed)
    for a body no `msg_signature` covers. Only accepted messages write one; the sweep deletes expired rows."""

    __tablename__ = "wechat_nonce"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)  # "<timestamp>:<nonce>"
    digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
