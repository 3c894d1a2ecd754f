"""A scanned doorplate: what the mini-program shows before a report made at it (no login needed)."""

from casework import doorplates
from miniapp_api import present
from miniapp_api.blueprint import bp
from miniapp_api.schemas import DoorplateAnswerOut


@bp.get("/doorplates/<path:token>")
@bp.response(200, DoorplateAnswerOut)
@bp.alt_response(404, description="门牌二维码无效或已停用(error 为 invalid_doorplate_code)")
def get_doorplate(token):
    """扫门牌二维码(小程序码的 scene)得到的门牌:地址、坐标和辖区派出所。"""
    return {"doorplate": present.doorplate(doorplates.doorplate_from_token(token), token)}
