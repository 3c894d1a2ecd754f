"""Request and response shapes of /api/miniapp/v1; they are also the OpenAPI document's schemas.

Fields carry Chinese error messages, so a 422 answer can be shown field by field as it is.
"""

from typing import ClassVar

import marshmallow as ma
from marshmallow import fields as mf
from marshmallow import validate

from casework.settings import DEFAULTS as LIMITS
from miniapp_api import texts

_BASE = {"required": texts.FIELD_REQUIRED, "null": texts.FIELD_NULL, "validator_failed": texts.FIELD_CHOICE}


class Str(mf.String):
    default_error_messages: ClassVar[dict] = {
        **_BASE,
        "invalid": texts.FIELD_INVALID_STRING,
        "invalid_utf8": texts.FIELD_INVALID_STRING,
    }


class Int(mf.Integer):
    default_error_messages: ClassVar[dict] = {
        **_BASE,
        "invalid": texts.FIELD_INVALID_INTEGER,
        "too_large": texts.FIELD_INVALID_INTEGER,
    }

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)


class QueryInt(Int):
    """An integer from a query string, where every value arrives as text."""

    def __init__(self, **kwargs):
        mf.Integer.__init__(self, strict=False, **kwargs)


class Num(mf.Float):
    default_error_messages: ClassVar[dict] = {
        **_BASE,
        "invalid": texts.FIELD_INVALID_NUMBER,
        "special": texts.FIELD_INVALID_NUMBER,
        "too_large": texts.FIELD_INVALID_NUMBER,
    }


class ListOf(mf.List):
    default_error_messages: ClassVar[dict] = {**_BASE, "invalid": texts.FIELD_INVALID_LIST}


class Time(mf.AwareDateTime):
    pass


def text(min_len: int, max_len: int, **kwargs) -> Str:
    return Str(
        validate=validate.Length(min=min_len, max=max_len, error=texts.FIELD_TOO_LONG.format(min=min_len, max=max_len)),
        **kwargs,
    )


def between(low, high, field=Int, **kwargs):
    return field(
        validate=validate.Range(min=low, max=high, error=texts.FIELD_RANGE.format(min=low, max=high)), **kwargs
    )


class Schema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    error_messages: ClassVar[dict] = {"unknown": texts.FIELD_UNKNOWN, "type": texts.FIELD_INVALID_BODY}


# -- errors -------------------------------------------------------------------------------------------------


class ErrorOut(Schema):
    error = Str(required=True, metadata={"description": "机器可读的错误代码"})
    message = Str(required=True, metadata={"description": "可直接展示给用户的中文说明"})
    fields = mf.Dict(keys=Str(), values=mf.Raw(), metadata={"description": "逐字段的错误说明"})
    detail = mf.Dict()


# -- login --------------------------------------------------------------------------------------------------


class LoginIn(Schema):
    code = text(1, 128, required=True, metadata={"description": "wx.login 返回的 code"})


class LoginOut(Schema):
    token = Str(required=True, metadata={"description": "Bearer 令牌,放在 Authorization 头中"})
    expires_at = Time(required=True)
    citizen_id = Int(required=True)


# -- uploads ------------------------------------------------------------------------------------------------


class UploadIn(Schema):
    file = mf.Raw(required=True, metadata={"type": "string", "format": "binary"})


class UploadOut(Schema):
    id = Int(required=True)
    kind = Str(required=True, metadata={"description": "image 或 video"})
    content_type = Str(required=True)
    size = Int(required=True)
    sha256 = Str(required=True)
    meta = mf.Dict(required=True)


# -- incidents ----------------------------------------------------------------------------------------------


class IncidentIn(Schema):
    description = text(1, LIMITS["INCIDENT_DESCRIPTION_MAX"], required=True, metadata={"description": "发生了什么"})
    category = text(1, 32, metadata={"description": "警情类别代码(提示,接警员可调整)"})
    latitude = between(-90, 90, Num)
    longitude = between(-180, 180, Num)
    address = text(1, 256)
    doorplate_token = text(1, 64, metadata={"description": "扫门牌二维码得到的令牌"})
    attachments = ListOf(
        between(1, 2**31 - 1),
        validate=validate.Length(max=16, error=texts.FIELD_TOO_MANY.format(max=16)),
        load_default=list,
        metadata={"description": "上传接口返回的附件 id"},
    )
    client_id = text(8, 64, metadata={"description": "客户端生成的幂等键,重试时保持不变"})


class ListQuery(Schema):
    limit = between(1, 50, QueryInt, load_default=20)
    before_id = between(1, 2**31 - 1, QueryInt)


class AttachmentOut(Schema):
    id = Int(required=True)
    kind = Str(required=True)
    content_type = Str(allow_none=True)
    size = Int(allow_none=True)
    sha256 = Str(allow_none=True)
    state = Str(required=True)
    duration = Num(allow_none=True)
    preview_url = Str(allow_none=True)


class TimelineOut(Schema):
    id = Int(required=True)
    at = Time(required=True)
    kind = Str(required=True)
    status = Str(allow_none=True)
    status_label = Str(allow_none=True)
    note = Str(required=True)


class IncidentSummaryOut(Schema):
    id = Int(required=True)
    number = Str(required=True)
    status = Str(required=True)
    status_label = Str(required=True)
    description = Str(required=True)
    category = Str(allow_none=True)
    reported_at = Time(required=True)
    updated_at = Time(required=True)
    rating = Int(allow_none=True)


class IncidentPageOut(Schema):
    items = mf.List(mf.Nested(IncidentSummaryOut), required=True)
    next_before_id = Int(allow_none=True, metadata={"description": "下一页的 before_id;为空表示没有更多"})


class IncidentOut(IncidentSummaryOut):
    address = Str(allow_none=True)
    latitude = Num(allow_none=True)
    longitude = Num(allow_none=True)
    rating_comment = Str(allow_none=True)
    can_rate = mf.Boolean(required=True)
    timeline = mf.List(mf.Nested(TimelineOut), required=True)
    attachments = mf.List(mf.Nested(AttachmentOut), required=True)


class RatingIn(Schema):
    rating = between(1, 5, required=True)
    comment = text(0, 500)


# -- chat ---------------------------------------------------------------------------------------------------


class MessageIn(Schema):
    body = text(1, LIMITS["CHAT_MESSAGE_MAX"], required=True)
    client_id = text(8, 64)


class MessagesQuery(Schema):
    after_id = between(0, 2**31 - 1, QueryInt, load_default=0)


class MessageOut(Schema):
    id = Int(required=True)
    sender = Str(required=True, metadata={"description": "citizen 或 officer"})
    body = Str(required=True)
    at = Time(required=True)


# -- complaints ---------------------------------------------------------------------------------------------


class ComplaintIn(Schema):
    incident_id = between(1, 2**31 - 1, required=True)
    body = text(1, LIMITS["COMPLAINT_BODY_MAX"], required=True)
    client_id = text(8, 64)


class ComplaintOut(Schema):
    id = Int(required=True)
    number = Str(required=True)
    incident_id = Int(required=True)
    incident_number = Str(required=True)
    status = Str(required=True)
    status_label = Str(required=True)
    body = Str(required=True)
    filed_at = Time(required=True)
    answer = Str(allow_none=True)
    answered_at = Time(allow_none=True)
    rating = Int(allow_none=True)
    can_rate = mf.Boolean(required=True, metadata={"description": "答复待评价(1、2分为不满意)"})
    review = Int(required=True, metadata={"description": "第几次办理:2 表示不满意后的复查"})
    first_answer = Str(allow_none=True, metadata={"description": "复查前的第一次答复"})
    first_rating = Int(allow_none=True)
    due_at = Time(allow_none=True, metadata={"description": "答复期限"})
    due_provisional = mf.Boolean(
        required=True, metadata={"description": "答复期限为暂定:跨入尚未公布节假日安排的年份,公布后可能调整"}
    )


class ComplaintRatingIn(Schema):
    rating = between(1, 5, required=True)


# -- subscribe-message consents -----------------------------------------------------------------------------


class ConsentIn(Schema):
    results = mf.Dict(
        keys=Str(),  # OpenAPI 3.0 cannot bound a key's length: one that no template id has is ignored, not refused
        values=Str(validate=validate.OneOf(["accept", "reject", "ban", "filter"], error=texts.FIELD_CHOICE)),
        required=True,
        validate=validate.Length(min=1, max=10, error=texts.FIELD_COUNT.format(min=1, max=10)),
        metadata={
            "description": "wx.requestSubscribeMessage 的结果:模板 id -> accept/reject/ban/filter"
            "(空的或超过128个字符的模板 id 不是微信的模板,忽略不计)",
            "minProperties": 1,
            "maxProperties": 10,
        },
    )
    incident_id = between(1, 2**31 - 1)


class ConsentOut(Schema):
    recorded = Int(required=True, metadata={"description": "本次记录的授权次数"})
    available = Int(required=True, metadata={"description": "尚未使用的授权次数"})


# -- categories ---------------------------------------------------------------------------------------------


class SubCategoryOut(Schema):
    code = Str(required=True, metadata={"description": "类别代码(报警时作为 category 提交)"})
    name = Str(required=True)


class CategoryOut(SubCategoryOut):
    children = mf.List(mf.Nested(SubCategoryOut), required=True, metadata={"description": "小类"})


class CategoryTreeOut(Schema):
    categories = mf.List(mf.Nested(CategoryOut), required=True, metadata={"description": "大类"})


# -- doorplates ---------------------------------------------------------------------------------------------


class StationOut(Schema):
    code = Str(required=True, metadata={"description": "派出所的单位代码"})
    name = Str(required=True)


class DoorplateOut(Schema):
    token = Str(required=True, metadata={"description": "门牌二维码中的令牌(报警时作为 doorplate_token 提交)"})
    code = Str(required=True, metadata={"description": "门牌编码"})
    address = Str(required=True)
    longitude = Num(allow_none=True)
    latitude = Num(allow_none=True)
    station = mf.Nested(StationOut, required=True, metadata={"description": "门牌所在辖区的派出所"})


class DoorplateAnswerOut(Schema):
    doorplate = mf.Nested(DoorplateOut, required=True)
