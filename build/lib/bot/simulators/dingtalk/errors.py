"""DingTalk OpenAPI error codes answered by the simulator, and the error body shape.

New OpenAPI errors are `{"code", "requestid", "message"}` with a non-2xx status (dingtalk.md §4).
Codes marked "sim choice" are not documented for the situation; see the package docstring.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

INVALID_CLIENT = "invalidClientIdOrSecret"
MISSING_TOKEN = "AuthenticationFailed.MissingParameter"
INVALID_TOKEN = "InvalidAuthentication"
QPS_LIMIT = "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
INVALID_PARAMETER = "invalidParameter"
ROBOT_CODE = "invalidParameter.robotCode.auth"
USER_IDS_OVER_MAX = "invalidParameter.userIds.overMax"
USER_IDS_EMPTY = "invalidParameter.userIds.empty"  # sim choice
MSG_KEY = "invalidParameter.msgKey.invalid"
MSG_PARAM = "invalidParameter.msgParam.invalid"
CONVERSATION = "invalid.openConversationId"
DOWNLOAD_CODE = "invalidParameter.downloadCode.invalid"  # sim choice
NOT_FOUND = "InvalidAction.NotFound"  # sim choice for an unknown API path
# card API codes seen in the card error table (param.*); duplicate/unknown ones are sim choices
CARD_TEMPLATE_EMPTY = "param.cardTemplateIdEmpty"
OUT_TRACK_ID_EMPTY = "param.outTrackIdEmpty"
OUT_TRACK_ID_INVALID = "param.outTrackIdInvalid"  # sim choice (longer than 64 chars)
OUT_TRACK_ID_DUPLICATE = "param.outTrackIdDuplicate"  # sim choice
CARD_NOT_FOUND = "param.cardInstanceNotExist"  # sim choice
CARD_DATA_EMPTY = "param.cardPublicDataEmpty"
CARD_PARAM_INVALID = "param.cardParamMapInvalid"  # sim choice (object/array value)
OPEN_SPACE_ID = "param.openSpaceIdInvalid"  # sim choice

# the old oapi robot API (sessionWebhook) answers HTTP 200 with errcode/errmsg
SESSION_MISSING = 300001
WEBHOOK_BAD_BODY = 40035  # sim choice: "invalid parameter" of the old API


def request_id() -> str:
    """A request id shaped like DingTalk's (upper-case UUID)."""
    return str(uuid.uuid4()).upper()


def error_body(code: str, message: str) -> dict[str, Any]:
    """The new-OpenAPI error body."""
    return {"code": code, "requestid": request_id(), "message": message}


class ApiError(Exception):
    """An OpenAPI call that fails with a status and a `{code, requestid, message}` body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> web.Response:
        """The aiohttp response for this error."""
        return web.json_response(error_body(self.code, self.message), status=self.status)


def bad_request(code: str, message: str) -> ApiError:
    """A 400 ApiError (DingTalk answers most parameter errors with 400)."""
    return ApiError(400, code, message)
