"""The two baselines the callback benchmark compares against, served by gunicorn with the same settings.

`bare`: a Flask endpoint that answers `success` and does nothing. `minimal`: only the work a safe-mode text report
cannot avoid: check the signature, decrypt, one INSERT and COMMIT, and an encrypted reply.
"""

import os

from flask import Flask, Response, request
from sqlalchemy import create_engine, text
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply


def bare() -> Flask:
    app = Flask("bare")

    @app.post("/wechat")
    def receive():
        request.get_data()
        return Response("success", mimetype="text/plain")

    return app


def minimal() -> Flask:
    app = Flask("minimal")
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, pool_size=5, max_overflow=10)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE IF NOT EXISTS bench_message "
                "(msg_id BIGINT PRIMARY KEY, openid TEXT NOT NULL, content TEXT NOT NULL)"
            )
        )
    crypto = WeChatCrypto(os.environ["WECHAT_TOKEN"], os.environ["WECHAT_AES_KEY"], os.environ["WECHAT_APPID"])

    @app.post("/wechat")
    def receive():
        args = request.args
        xml = crypto.decrypt_message(request.get_data(), args["msg_signature"], args["timestamp"], args["nonce"])
        msg = parse_message(xml)
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO bench_message VALUES (:id, :openid, :content)"),
                {"id": msg.id, "openid": msg.source, "content": msg.content},
            )
        reply = TextReply(message=msg, content=f"已收到 {msg.id}").render()
        return Response(crypto.encrypt_message(reply, args["nonce"]), mimetype="application/xml")

    return app
