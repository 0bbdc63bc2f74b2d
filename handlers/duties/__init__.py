"""代表履职 inside DingTalk: 意见征集 and questionnaires, votes, and each deputy's 履职档案.

- `spec`: a solicitation as staff write it (YAML → checked dataclasses);
- `solicit`: create, deliver, answer, remind, close; `results`: counts and response rates;
- `vote`: one ballot per deputy, secret when set;
- `record`: offline activities (`登记 …`) and the 履职档案 with its 积分;
- `router`: the text commands and card clicks that belong here; `texts`: the Chinese wording;
- `card_texts`: the cardParamMap of a deputy's solicitation card (the card template mode).
"""
