"""A stand-in for your application: routes a support message to a team.

lm-eval-so calls ``route`` for every sample (``runner.function: bot:route``); in a real project
this would call your prompt, your retrieval and your model.
"""

from __future__ import annotations

ROUTES = {
    "billing": ("invoice", "charge", "refund", "payment", "price", "card"),
    "technical": ("error", "crash", "bug", "login", "password", "slow", "api"),
    "sales": ("upgrade", "plan", "enterprise", "demo", "quote", "seats"),
}


def route(input: str) -> dict[str, object]:
    text = input.lower()
    scores = {team: sum(word in text for word in words) for team, words in ROUTES.items()}
    team = max(scores, key=lambda t: scores[t]) if any(scores.values()) else "general"
    words = len(input.split())
    return {"output": f"team: {team}", "usage": {"prompt_tokens": words, "completion_tokens": 2}}
