"""Every sentence the mini-program shows a citizen, in one place."""

REJECTED = {
    "not_multipart": "请以 multipart/form-data 方式上传文件",
    "no_file": "请在 file 字段中上传一个文件",
    "too_many_files": "每次只能上传一个文件",
    "unexpected_field": "只能包含 file 一个字段",
    "malformed": "上传内容格式不正确",
    "empty": "文件是空的",
    "unsupported_type": "仅支持 JPEG、PNG 图片和 MP4 视频",
    "polyglot": "文件中夹带了其他内容,已拒收",
    "corrupt": "文件已损坏或无法识别",
    "too_many_pixels": "图片像素过多,请压缩后重新上传",
    "too_large": "文件过大",
    "too_long": "视频时长超过限制",
    "no_video_stream": "视频文件中没有画面",
    "unsupported_codec": "不支持该视频编码",
}

LOGIN_FAILED = "微信登录失败,请重试"
LOGIN_REQUIRED = "请先登录"
SESSION_EXPIRED = "登录已过期,请重新登录"
VALIDATION_FAILED = "提交的内容有误,请检查后重试"
RATE_LIMITED = "操作过于频繁,请稍后再试"
TOO_LARGE = "上传内容过大"
UPLOAD_NOT_FOUND = "附件不存在或已被使用"
TOO_MANY_PHOTOS = "每次报警最多上传{limit}张照片"
TOO_MANY_VIDEOS = "每次报警最多上传{limit}段视频"
TOO_MANY_PENDING = "待提交的附件过多,请先提交报警"
UNKNOWN_CATEGORY = "警情类别不存在"
DOORPLATE_INVALID = "门牌二维码无效或已停用"
NEED_LOCATION = "经纬度须同时提供"
COMPLAINT_NOT_FOUND = "未找到该投诉"
COMPLAINT_NOT_ANSWERED = "投诉尚未答复,暂不能评价"
COMPLAINT_ALREADY_RATED = "您已评价过该答复"
RATING_RANGE = "评价须为1到5分"
NOT_FOUND = "未找到"

# Field messages (marshmallow) for request validation.
FIELD_REQUIRED = "此项为必填项"
FIELD_NULL = "此项不能为空"
FIELD_INVALID_STRING = "须为文本"
FIELD_INVALID_INTEGER = "须为整数"
FIELD_INVALID_NUMBER = "须为数字"
FIELD_INVALID_LIST = "须为列表"
FIELD_INVALID_DICT = "须为对象"
FIELD_UNKNOWN = "不支持的字段"
FIELD_INVALID_BODY = "请求体须为 JSON 对象"
FIELD_TOO_LONG = "长度须在{min}到{max}个字符之间"
FIELD_RANGE = "须在{min}到{max}之间"
FIELD_TOO_MANY = "最多{max}项"
FIELD_COUNT = "须有{min}到{max}项"
FIELD_CHOICE = "取值无效"

# Subscribe message for progress (template fields are configured; values are cut to WeChat's lengths).
PROGRESS_PAGE = "pages/incident/detail?id={incident_id}"
CHAT_PAGE = "pages/incident/chat?id={incident_id}"
COMPLAINT_PAGE = "pages/complaint/detail?id={complaint_id}"
PUSH_CHAT_STATUS = "民警留言"  # a template's phrase value: at most 5 characters
PUSH_COMPLAINT_STATUS = "投诉已答复"

# The OpenAPI document's introduction, for the mini-program's developers.
API_DESCRIPTION = """\
微信小程序报警接口。

- 登录:用 `wx.login` 得到的 code 调用 `POST /session`,返回的 token 放入请求头 `Authorization: Bearer <token>`;\
令牌过期或退出后返回 401,请重新登录。
- 报警附件:先用 `wx.uploadFile` 逐个调用 `POST /uploads`(字段名 `file`,每次一个文件),\
再把返回的 id 放入 `POST /incidents` 的 `attachments`。文件类型按内容判断,仅支持 JPEG、PNG 图片和 MP4 视频;\
每次报警最多 8 张照片、1 段视频。
- 幂等:报警、消息、投诉可带 `client_id`(客户端生成,重试时不变),重复提交只生效一次。
- 错误:返回 `{"error": 代码, "message": 中文说明}`;参数错误为 422,并在 `fields` 中逐字段说明。\
他人的记录与不存在的记录一样返回 404。操作过于频繁返回 429(见 `Retry-After`)。
- 进度通知:调用 `wx.requestSubscribeMessage` 后把结果提交到 `POST /subscriptions`,每次同意可收到一条办理进度通知。
"""
