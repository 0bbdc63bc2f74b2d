"""A faithful local DingTalk server: Stream gateway, OpenAPI, sessionWebhook (dingtalk.md §1–§4).

Choices made where the protocol reference is silent or unconfirmed ("sim choice"):

- Websocket handshake: missing/unknown ticket → HTTP 401; used or expired ticket → HTTP 403
  (JSON `{code, requestid, message}` body).
- connections/open: non-JSON body → 400 `invalidParameter`; bad credentials → 400
  `invalidClientIdOrSecret`; the reply is XML unless `Accept` contains `application/json`
  (the Node SDK's comment); QPS-limited like every OpenAPI path.
- QPS: `qps_limit` admitted calls per rolling real second per path → HTTP 403
  `Forbidden.AccessDenied.QpsLimitForAppkeyAndApi`. Rejected calls do not count. sessionWebhook
  is not QPS-limited. Order: latency → injection → body → token → QPS → operation.
- Redelivery: a bot-message frame is redelivered (same messageId and data; time unchanged;
  connectionId of the new connection) to a random subscribed connection every
  `redelivery_delay` sim seconds until any ACK (any code) arrives; no retry limit. A frame
  pushed while no subscribed connection exists goes out as soon as one connects.
- Card callbacks are never redelivered: the ACK must come within 2 real seconds, late ones are
  counted (`late_card_acks`) and ignored. `cardUpdateOptions` absent → replace the whole map.
- Card errors: duplicate outTrackId → 400 `param.outTrackIdDuplicate`; unknown outTrackId →
  400 `param.cardInstanceNotExist`; bad openSpaceId → 400 `param.openSpaceIdInvalid`; per-space
  failures (unknown group/user, missing deliver model) → HTTP 200 with `success:false` in
  deliverResults. Non-string cardParamMap scalars are stringified (counted in
  `stats["card_param_non_string"]`); object/array values → 400 `param.cardParamMapInvalid`.
- sessionWebhook: unknown or expired session → HTTP 200 `{"errcode":300001}`; a body that is not
  text/markdown/actionCard/link/feedCard → `{"errcode":40035}`.
- Unknown `/v1.0/...` path → 404 `InvalidAction.NotFound`.
- Timers (token 7200 s, ticket 90 s, sessionWebhook 90 min, redelivery, disconnect grace,
  `ping_interval`) run on the sim clock (`clock` + `advance()`); a background ticker checks them
  every `tick_interval` real seconds and `tick()` / `redeliver_due()` run them at once.
- Timelines (`group_view`, `private_view`) hold the users' own messages too (`sender` = userId,
  robot entries have `sender` = "robot").
"""

from bot.simulators.dingtalk.payloads import BOT_TOPIC, CARD_TOPIC, private_conversation_id
from bot.simulators.dingtalk.sdk import redirect_sdk
from bot.simulators.dingtalk.simulator import DingTalkSimulator

__all__ = [
    "BOT_TOPIC",
    "CARD_TOPIC",
    "DingTalkSimulator",
    "private_conversation_id",
    "redirect_sdk",
]
