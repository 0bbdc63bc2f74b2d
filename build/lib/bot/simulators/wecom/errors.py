"""WeCom error codes answered by the simulator (HTTP 200 with errcode/errmsg).

Codes marked "sim choice" are not documented for the situation; see the package docstring.
"""

from __future__ import annotations

from typing import Any

OK = 0
SYSTEM_BUSY = -1
INVALID_SECRET = 40001
INVALID_MEDIA_TYPE = 40004
INVALID_TYPE_PARAM = 40005
INVALID_FILE_SIZE = 40006
INVALID_MEDIA_ID = 40007
INVALID_MSGTYPE = 40008
INVALID_CORPID = 40013
INVALID_ACCESS_TOKEN = 40014
INVALID_UNICODE_ESCAPE = 40033
INVALID_PARAM = 40035
INVALID_AGENTID = 40056
MISSING_ACCESS_TOKEN = 41001
MISSING_CORPID = 41002
MISSING_SECRET = 41004
MISSING_MEDIA_DATA = 41005
ACCESS_TOKEN_EXPIRED = 42001
EMPTY_CONTENT = 44004
CONTENT_TOO_LONG = 45002
FREQ_LIMIT = 45009
CONCURRENCY_LIMIT = 45033
BAD_JSON = 47001
ALL_RECIPIENTS_INVALID = 81013
KF_INVALID_OPEN_KFID = 95000
KF_SEND_COUNT_LIMIT = 95001
KF_SEND_TIME_LIMIT = 95002
KF_INVALID_MSG_TOKEN = 95007
KF_INVALID_MENU_COUNT = 95008
KF_INVALID_MENU_TYPE = 95009
KF_INVALID_MENU_ID = 95010
KF_INVALID_STATE_CHANGE = 95016
KF_SESSION_STATUS_INVALID = 95018

# sim choices for situations whose real code is undocumented (all "invalid parameter")
KF_DUPLICATE_MSGID = INVALID_PARAM
KF_INVALID_EVENT_CODE = INVALID_PARAM
INVALID_RESPONSE_CODE = INVALID_PARAM
DUPLICATE_TASK_ID = INVALID_PARAM

DEFAULT_ERRMSG: dict[int, str] = {
    SYSTEM_BUSY: "system busy",
    INVALID_SECRET: "invalid credential",
    INVALID_CORPID: "invalid corpid",
    INVALID_ACCESS_TOKEN: "invalid access_token",
    MISSING_ACCESS_TOKEN: "access_token missing",
    ACCESS_TOKEN_EXPIRED: "access_token expired",
    FREQ_LIMIT: "api freq out of limit",
    CONCURRENCY_LIMIT: "api concurrent out of limit",
    ALL_RECIPIENTS_INVALID: "all touser/toparty/totag invalid",
    KF_SEND_COUNT_LIMIT: "send msg count limit",
    KF_SESSION_STATUS_INVALID: "send msg session status invalid",
    KF_INVALID_MSG_TOKEN: "invalid msg token",
}


class ApiError(Exception):
    """A WeCom API refusal: becomes `{"errcode": code, "errmsg": msg}` with HTTP 200."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg or DEFAULT_ERRMSG.get(errcode, f"error {errcode}")
        super().__init__(f"{errcode}: {self.errmsg}")

    def body(self) -> dict[str, Any]:
        """The JSON body WeCom would answer."""
        return {"errcode": self.errcode, "errmsg": f"{self.errmsg}, hint: [simulator]"}
