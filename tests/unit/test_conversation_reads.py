"""A turn's questions about the conversation (step, incident followed, last location) cost one store read, and
what the turn changes is what it reads afterwards."""

from flask import Flask

from bot.conversation import Conversation
from store import MemoryStore
from store.scope import EXTENSION


class Counting(MemoryStore):
    def __init__(self):
        super().__init__()
        self.reads = 0

    def get(self, key):
        self.reads += 1
        return super().get(key)

    def get_many(self, keys):
        self.reads += 1
        return super().get_many(keys)


def app_with(kept: MemoryStore) -> Flask:
    app = Flask(__name__)
    app.config.update(WECHAT_CONVERSATION_TTL=600, WECHAT_FOLLOWUP_WINDOW=1800)
    app.extensions[EXTENSION] = kept
    return app


def test_a_turn_reads_the_conversation_once():
    kept = Counting()
    with app_with(kept).app_context():
        earlier = Conversation("o-1")
        earlier.expect("doorplate", doorplate_id=3)
        earlier.follow(42)
        earlier.remember_location(26.07, 119.3)
        turn = Conversation("o-1")
        assert turn.step() == {"step": "doorplate", "doorplate_id": 3}
        assert turn.following() == 42
        assert turn.last_location() == (26.07, 119.3)
        assert turn.step()["step"] == "doorplate"
        assert kept.reads == 1


def test_what_a_turn_changes_is_what_it_reads_next():
    kept = Counting()
    with app_with(kept).app_context():
        turn = Conversation("o-2")
        assert turn.step() == {} and turn.following() is None and turn.last_location() is None
        turn.expect("where", incident_id=7)
        turn.follow(7)
        assert turn.step() == {"step": "where", "incident_id": 7} and turn.following() == 7
        turn.clear()
        turn.unfollow()
        turn.remember_location(1.5, 2.5)
        assert turn.step() == {} and turn.following() is None and turn.last_location() == (1.5, 2.5)
        assert kept.reads == 1
        fresh = Conversation("o-2")  # the next turn sees what this one left
        assert fresh.step() == {} and fresh.following() is None and fresh.last_location() == (1.5, 2.5)
