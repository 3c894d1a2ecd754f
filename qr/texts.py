"""Every sentence the doorplate channel shows a citizen or an officer, in one place."""

LABEL_FOOTER = "{code} · 扫码报警 · 紧急请拨110"
MISSING_GLYPHS = "门牌 {code} 的地址含打印字体没有的字「{chars}」，请设置 LABEL_FONT 为包含这些字的字体"
ADDRESS_TOO_LONG = "地址过长，标签上放不下"

PAGE_TITLE = "门牌扫码报警"
INVALID_TITLE = "二维码无效"
INVALID_BODY = "这个门牌二维码无法识别，可能已停用、已更换或被篡改。"
INVALID_HINT = "如需报警，请在微信中搜索本地公安110公众号，或直接拨打110。"
EMERGENCY = "紧急情况请直接拨打110"
RECEIVED = "已收到您的报警，警情编号 {number}。民警会尽快处理，必要时会电话联系您。"
FORM_EXPIRED = "页面已过期，请重新提交"
PHONE_INVALID = "请填写正确的11位手机号码"
TOO_MANY = "提交过于频繁，请稍后再试；紧急情况请直接拨打110"

TRACKING_TITLE = "报警办理进度"
TRACKING_CHAT = "与民警留言"
TRACKING_NO_MESSAGES = "暂无留言。"
TRACKING_ADD = "补充情况或给民警留言"
TRACKING_SENT = "留言已发送，民警会看到。"
TRACKING_INVALID_TITLE = "链接无效"
TRACKING_INVALID_BODY = "这个查询链接无法识别或已过期。紧急情况请直接拨打110。"
TRACKING_SAVED = {  # what happened to the text with the tracking link, and nothing else
    "sent": "查询进度、给民警留言的链接已通过短信发到您的手机；也可以收藏上面的页面。",
    "not_configured": "本系统未开通短信通知，没有发送短信。请收藏或记下上面的链接，用它查询进度、给民警留言：",
    "failed": "短信发送失败。请收藏或记下上面的链接，用它查询进度、给民警留言：",
}
SMS_RECEIVED = "【110报警】已收到您的报警，警情编号 {number}。查询进度、补充情况：{url}"
