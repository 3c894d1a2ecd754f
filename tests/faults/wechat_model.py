"""WeChat as the fault suite sees it: a steady stream of signed safe-mode (encrypted) text reports, each from its
own citizen, sent the way WeChat sends them: an answer not received within 5 s (a timeout, a refused connection,
or an error status) is retried, up to three retries. A message counts as delivered when an attempt got HTTP 200.
"""

import itertools
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from tests import wechat_side
from wechat import simulator

TIMEOUT = 5.0
RETRIES = 3


@dataclass
class Message:
    msg_id: str
    openid: str
    attempts: list[str] = field(default_factory=list)  # how each attempt ended: "200", "503", "timeout", ...
    delivered_at: float | None = None

    @property
    def delivered(self) -> bool:
        return self.delivered_at is not None


class WeChatModel:
    def __init__(self, callback_url: str, *, run: str, threads: int = 24):
        self.url = callback_url
        self.run = run
        self.messages: list[Message] = []
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="wechat-model")
        self.numbers = itertools.count(1)
        # MsgIds are WeChat's dedupe key: each run has its own range (one deployment serves several runs).
        self.first_msg_id = 7_000_000_000_000_000_000 + zlib.crc32(run.encode()) * 1_000_000
        self.local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def send_steadily(self, rate: float, seconds: float) -> None:
        """Send `rate` new reports a second for `seconds` (this thread paces; the pool sends)."""
        started = time.monotonic()
        count = int(rate * seconds)
        for index in range(count):
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            number = next(self.numbers)
            message = Message(msg_id=str(self.first_msg_id + number), openid=f"o-fault-{self.run}-{number}")
            with self.lock:
                self.messages.append(message)
            self.pool.submit(self._deliver, message, number)

    def _deliver(self, message: Message, number: int) -> None:
        fields = {
            "ToUserName": "gh_wx110",
            "FromUserName": message.openid,
            "CreateTime": str(int(time.time())),
            "MsgType": "text",
            "Content": f"楼下有人打架,第{number}号",
            "MsgId": message.msg_id,
        }
        for _attempt in range(1 + RETRIES):
            query, body = simulator.signed(fields, wechat_side.KEYS, mode="safe")
            try:
                response = self._session().post(self.url, params=query, data=body, timeout=TIMEOUT)
            except requests.Timeout:
                message.attempts.append("timeout")
                continue
            except requests.ConnectionError:
                message.attempts.append("refused")
                time.sleep(TIMEOUT)  # WeChat waits out its 5 s before it retries
                continue
            message.attempts.append(str(response.status_code))
            if response.status_code == 200:
                message.delivered_at = time.monotonic()
                return
            time.sleep(max(0.0, TIMEOUT - response.elapsed.total_seconds()))

    def finish(self) -> None:
        self.pool.shutdown(wait=True)

    def delivered(self) -> list[Message]:
        return [message for message in self.messages if message.delivered]
