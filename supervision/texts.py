"""What officers read about warnings (in the console, the WeChat template and the text message), in one place."""

from casework import clock

SMS_WARNING = "【执法监督】{colour}:{point},{subject}{number},{unit}。期限 {due}。请登录警务平台处理。"
ESCALATED = "已升级至上级单位督察"


def due_text(moment) -> str:
    return clock.local(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"
