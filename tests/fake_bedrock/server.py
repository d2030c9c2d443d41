"""A loopback Amazon Bedrock Runtime speaking the Converse API as boto3 sends it (aiohttp, 127.0.0.1).

``POST /model/{modelId}/converse`` only, checked as AWS checks it:

* ``Authorization``: a SigV4 header whose credential scope names the configured region and the
  service ``bedrock``, for the known test access key, and whose signature is recomputed here
  from the request as received (an implementation of the SigV4 spec written apart from
  botocore's signer, so a mismatch between what botocore signed and what it sent fails);
  ``X-Amz-Date`` well-formed, within 5 minutes, and the scope's date; ``X-Amz-Security-Token``
  when the credentials are temporary. Or, when ``bearer_token`` is set, ``Authorization:
  Bearer <token>`` (a Bedrock API key). Failures answer 403 with AWS's error codes
  (``MissingAuthenticationTokenException``, ``UnrecognizedClientException``,
  ``InvalidSignatureException``) in the ``x-amzn-ErrorType`` header, as AWS sends them.
* The body: JSON (``Content-Type: application/json``) with ``messages`` (alternating roles,
  starting with ``user``, text blocks), optional ``system`` text blocks, ``inferenceConfig``
  with only ``maxTokens``/``temperature``/``topP``/``stopSequences``, and no unknown keys
  (400 ``ValidationException`` otherwise).

Replies have the Converse shape: ``output.message.content`` text blocks, ``stopReason``
(``end_turn``, ``max_tokens``, ``stop_sequence``), ``usage`` (inputTokens / outputTokens /
totalTokens, whitespace-separated words) and ``metrics.latencyMs``. The answer is picked by the
OpenAI fake's rule (:func:`fake_openai.server.pick_reply`) from the last user message.

Faults: ``fail_first`` N requests, or every ``fail_every``-th request, answer ``fail_status``
with the error code AWS uses for it (429 ``ThrottlingException``, 500
``InternalServerException``, 503 ``ServiceUnavailableException``, 400 ``ValidationException``
...) and an optional ``Retry-After``; ``hang_first`` sleeps; ``raw_reply`` is sent verbatim.
Every request is recorded (path, model id, headers, body) for assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import json
import re
import ssl
import time
import uuid
from calendar import timegm
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from aiohttp import web

from fake_openai.loopback import LoopbackServer, run_app
from fake_openai.server import LOOPBACK, pick_reply

T = TypeVar("T")

# The test credentials (the AWS documentation's example key pair).
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SERVICE = "bedrock"
MAX_SKEW_S = 300  # AWS refuses a signature more than 5 minutes off

_CODES = {
    400: ("ValidationException", "The provided request is not valid."),
    403: ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
    404: ("ResourceNotFoundException", "The requested resource could not be found."),
    408: ("ModelTimeoutException", "Model has timed out in processing the request."),
    424: ("ModelErrorException", "The model failed to process the request."),
    429: ("ThrottlingException", "Too many requests, please wait before trying again."),
    500: ("InternalServerException", "The server encountered an internal error."),
    503: ("ServiceUnavailableException", "Bedrock is unable to process your request."),
}
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})"
)
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_KNOWN_KEYS = {
    "messages", "system", "inferenceConfig", "additionalModelRequestFields", "toolConfig",
    "guardrailConfig", "promptVariables", "additionalModelResponseFieldPaths", "requestMetadata",
    "performanceConfig", "serviceTier", "outputConfig",
}  # fmt: skip
_INFERENCE_KEYS = {"maxTokens", "temperature", "topP", "stopSequences"}


@dataclass
class FakeBedrockConfig:
    region: str = "us-east-1"
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    session_token: str | None = None  # when set, X-Amz-Security-Token must carry it (and be signed)
    bearer_token: str | None = None  # when set, "Authorization: Bearer <token>" is accepted too
    latency_s: float = 0.0
    answers: dict[str, str] = field(default_factory=dict)
    fail_first: int = 0
    fail_every: int = 0  # every n-th request (n, 2n, ...) fails
    fail_status: int = 500
    fail_code: str | None = None  # the x-amzn-ErrorType code; AWS's for fail_status by default
    retry_after: float | None = None  # seconds, sent as Retry-After with the failure
    hang_first: int = 0
    hang_s: float = 300.0
    usage: str = "normal"  # "omit": no usage key
    content: list[dict[str, Any]] | None = None  # the reply's content blocks, verbatim
    stop_reason: str | None = None  # overrides the computed stopReason
    raw_reply: str | None = None  # sent verbatim with status 200
    raw_content_type: str = "application/json"


class FakeBedrockState:
    """Configuration, fault counters and the recorded requests. Lives on the server's loop."""

    def __init__(self, config: FakeBedrockConfig | None = None) -> None:
        self.config = config or FakeBedrockConfig()
        self.reset()

    def reset(self, *, keep_config: bool = True) -> None:
        if not keep_config:
            self.config = FakeBedrockConfig()
        self.requests: list[dict[str, Any]] = []  # every request that reached the handler
        self.arrivals: list[tuple[float, str]] = []  # (time, last user text) of accepted ones
        self.rejected: list[tuple[int, str, str]] = []  # (status, code, message) sent back
        self.served = {"hang": 0, "fail": 0}
        self.count = 0  # accepted (authenticated, well-formed) requests

    def configure(self, **changes: Any) -> None:
        known = {f.name for f in dataclasses.fields(FakeBedrockConfig)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown FakeBedrockConfig field(s) {unknown}; known: {sorted(known)}")
        self.config = dataclasses.replace(self.config, **changes)

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": [dict(r) for r in self.requests],
            "arrivals": [list(a) for a in self.arrivals],
            "rejected": [list(r) for r in self.rejected],
            "faults_served": dict(self.served),
            "count": self.count,
        }


# --------------------------------------------------------------------------- SigV4


def sigv4_problem(
    method: str, raw_path: str, raw_query: str, headers: Any, body: bytes, config: FakeBedrockConfig
) -> tuple[str, str] | None:
    """(AWS error code, message) when the request is not signed as AWS requires; None when it is."""
    auth = headers.get("Authorization")
    if not auth:
        return "MissingAuthenticationTokenException", "Missing Authentication Token"
    if auth.startswith("Bearer "):
        if config.bearer_token is not None and hmac.compare_digest(auth[7:], config.bearer_token):
            return None
        return "UnrecognizedClientException", "Invalid API Key format: Must be a valid Bedrock API key."
    match = _AUTH.fullmatch(auth)
    if match is None:
        return (
            "IncompleteSignatureException",
            f"Authorization header requires a SigV4 signature: {auth[:40]!r}",
        )
    parts = match["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        return "IncompleteSignatureException", f"Credential is malformed: {match['credential']!r}"
    access_key, date, region, service, _ = parts
    amz_date = headers.get("X-Amz-Date", "")
    if not _AMZ_DATE.fullmatch(amz_date):
        return "IncompleteSignatureException", f"X-Amz-Date is missing or malformed: {amz_date!r}"
    if date != amz_date[:8]:
        return "InvalidSignatureException", f"Date in Credential scope does not match X-Amz-Date: {date}"
    if region != config.region:
        return "InvalidSignatureException", f"Credential should be scoped to a valid region, not '{region}'."
    if service != SERVICE:
        return "InvalidSignatureException", f"Credential should be scoped to correct service: '{SERVICE}'."
    if access_key != config.access_key:
        return "UnrecognizedClientException", "The security token included in the request is invalid."
    signed_at = timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    if abs(time.time() - signed_at) > MAX_SKEW_S:
        return "InvalidSignatureException", "Signature expired: the request time is too skewed."
    signed = match["signed"].split(";")
    if signed != sorted(signed) or "host" not in signed or "x-amz-date" not in signed:
        return (
            "InvalidSignatureException",
            f"SignedHeaders must be sorted and include host and x-amz-date: {signed}",
        )
    token = headers.get("X-Amz-Security-Token")
    token_ok = token == config.session_token and "x-amz-security-token" in signed
    if config.session_token is not None and not token_ok:
        return "UnrecognizedClientException", "The security token included in the request is invalid."
    canonical_headers = "".join(
        f"{name}:{','.join(' '.join(v.split()) for v in headers.getall(name, []))}\n" for name in signed
    )
    payload_hash = headers.get("X-Amz-Content-SHA256") or hashlib.sha256(body).hexdigest()
    canonical_request = "\n".join(
        [
            method,
            quote(raw_path, safe="/~"),  # every service but S3 encodes the (encoded) path again
            "&".join(sorted(raw_query.split("&"))) if raw_query else "",
            canonical_headers,
            ";".join(signed),
            payload_hash,
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = f"AWS4{config.secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["signature"]):
        return (
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return None


# --------------------------------------------------------------------------- body


START_WITH_USER = (
    "A conversation must start with a user message. "
    "Try again with a conversation that starts with a user message."
)
ALTERNATE = (
    "A conversation must alternate between user and assistant roles. "
    "Make sure the conversation alternates between user and assistant roles and try again."
)


def body_problem(body: Any) -> str | None:
    """What a Converse request body gets wrong, worded like Bedrock's ValidationException."""
    if not isinstance(body, dict):
        return "Malformed input request: the body must be a JSON object"
    unknown = sorted(set(body) - _KNOWN_KEYS)
    if unknown:
        return f"Malformed input request: extraneous key [{unknown[0]}] is not permitted"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return START_WITH_USER
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            return f"messages.{index}.role: must be user or assistant (got {role!r})"
        if index == 0 and role != "user":
            return START_WITH_USER
        if index and messages[index - 1].get("role") == role:
            return ALTERNATE
        content = message.get("content")
        if not isinstance(content, list) or not content:
            return (
                f"The content field in the Message object at messages.{index} is empty. "
                "Add a ContentBlock object to the content field and try again."
            )
        for block in content:
            if not isinstance(block, dict) or not isinstance(block.get("text"), str):
                return f"messages.{index}.content: only text blocks are expected here (got {block!r})"
            if not block["text"].strip():
                return (
                    f"The text field in the ContentBlock object at messages.{index}.content.0 is blank. "
                    "Add text to the text field, and try again."
                )
    system = body.get("system", [])
    if not isinstance(system, list) or not all(
        isinstance(b, dict) and isinstance(b.get("text"), str) and b["text"] for b in system
    ):
        return f"system: must be a list of non-empty text blocks (got {system!r})"
    inference = body.get("inferenceConfig", {})
    if not isinstance(inference, dict) or set(inference) - _INFERENCE_KEYS:
        return f"inferenceConfig: unknown field(s) {sorted(set(inference) - _INFERENCE_KEYS)}"
    temperature = inference.get("temperature")
    if temperature is not None and not 0 <= temperature <= 1:
        return "inferenceConfig.temperature: must be between 0 and 1"
    max_tokens = inference.get("maxTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        return "inferenceConfig.maxTokens: must be a positive integer"
    return None


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return "\n".join(b.get("text", "") for b in message.get("content") or [])
    return ""


def shape_reply(reply: str, inference: dict[str, Any]) -> tuple[str, str]:
    """Apply ``stopSequences`` and ``maxTokens`` (in words) as a model would; (text, stopReason)."""
    for marker in inference.get("stopSequences") or []:
        if marker and marker in reply:
            return reply[: reply.index(marker)], "stop_sequence"
    words = reply.split()
    max_tokens = inference.get("maxTokens")
    if isinstance(max_tokens, int) and len(words) > max_tokens:
        return " ".join(words[:max_tokens]), "max_tokens"
    return reply, "end_turn"


# --------------------------------------------------------------------------- handler


class FakeBedrockApp:
    def __init__(self, state: FakeBedrockState) -> None:
        self.state = state
        self.app = web.Application()
        self.app.add_routes([web.post("/{tail:.*}", self.handle)])

    def _error(
        self, status: int, code: str, message: str, *, retry_after: float | None = None
    ) -> web.Response:
        self.state.rejected.append((status, code, message))
        namespace = (
            "com.amazon.coral.service" if "Signature" in code or "Client" in code else "com.amazon.bedrock"
        )
        headers = {
            "x-amzn-RequestId": str(uuid.uuid4()),
            "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/{namespace}/",
        }
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        return web.json_response({"message": message}, status=status, headers=headers)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        state, config = self.state, self.state.config
        raw_body = await request.read()
        raw_path = request.rel_url.raw_path
        match = re.fullmatch(r"(?P<prefix>.*?)/model/(?P<model>[^/]+)/converse", raw_path)
        record: dict[str, Any] = {
            "method": request.method,
            "path": raw_path,
            "model_id": unquote(match["model"]) if match else None,
            "headers": dict(request.headers),
            "body": None,
        }
        state.requests.append(record)
        if match is None:
            return self._error(404, "UnknownOperationException", f"No operation at {raw_path}")
        problem = sigv4_problem(
            request.method, raw_path, request.rel_url.raw_query_string, request.headers, raw_body, config
        )
        if problem is not None:
            return self._error(403, *problem)
        if request.content_type != "application/json":
            return self._error(
                415, "UnsupportedMediaTypeException", f"Unsupported Content-Type {request.content_type}"
            )
        try:
            body = json.loads(raw_body)
        except ValueError:
            return self._error(400, "ValidationException", "Malformed input request: the body is not JSON")
        record["body"] = body
        if problem_text := body_problem(body):
            return self._error(400, "ValidationException", problem_text)
        state.count += 1
        prompt = last_user_text(body)
        state.arrivals.append((time.time(), prompt))
        if config.latency_s > 0:
            await asyncio.sleep(config.latency_s)
        if state.served["hang"] < config.hang_first:
            state.served["hang"] += 1
            await asyncio.sleep(config.hang_s)
        periodic = config.fail_every > 0 and state.count % config.fail_every == 0
        if state.served["fail"] < config.fail_first or periodic:
            state.served["fail"] += 1
            code, message = _CODES.get(config.fail_status, ("InternalServerException", "Error."))
            return self._error(
                config.fail_status, config.fail_code or code, message, retry_after=config.retry_after
            )
        if config.raw_reply is not None:
            return web.Response(text=config.raw_reply, content_type=config.raw_content_type)
        return web.json_response(
            self._converse(body, prompt), headers={"x-amzn-RequestId": str(uuid.uuid4())}
        )

    def _converse(self, body: dict[str, Any], prompt: str) -> dict[str, Any]:
        config = self.state.config
        reply, stop = shape_reply(pick_reply(prompt, config.answers), body.get("inferenceConfig") or {})
        words_in = sum(
            len(block["text"].split())
            for part in (body.get("system") or [], *(m["content"] for m in body["messages"]))
            for block in part
        )
        words_out = len(reply.split())
        content = config.content if config.content is not None else [{"text": reply}]
        response: dict[str, Any] = {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": config.stop_reason or stop,
            "usage": {
                "inputTokens": words_in,
                "outputTokens": words_out,
                "totalTokens": words_in + words_out,
            },
            "metrics": {"latencyMs": int(config.latency_s * 1000) + 1},
        }
        if config.usage == "omit":
            del response["usage"]
        return response


# --------------------------------------------------------------------------- running it


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 and the certificate to trust (``AWS_CA_BUNDLE``).

    Needs the ``cryptography`` package; a Bedrock API key (bearer token) is only ever sent over
    HTTPS, so the fake serves TLS to test it.
    """
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fake-bedrock.pem", directory / "fake-bedrock.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


async def start_server(
    state: FakeBedrockState, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, str]:
    if host not in LOOPBACK:
        raise ValueError(f"the fake server only listens on loopback, not {host!r}")
    runner = await run_app(FakeBedrockApp(state).app, host, port, ssl_context=tls)
    scheme = "https" if tls is not None else "http"
    return runner, f"{scheme}://{host}:{runner.addresses[0][1]}"


class BedrockServerThread(LoopbackServer):
    """The fake on its own event loop in a daemon thread. ``url`` is the endpoint (no path)."""

    thread_name = "fake-bedrock"

    def __init__(self, config: FakeBedrockConfig | None = None, *, tls: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.state = FakeBedrockState(config)
        self.tls = tls
        self.url = ""

    async def _begin(self) -> tuple[web.AppRunner, str]:
        return await start_server(self.state, tls=self.tls)

    def start(self) -> BedrockServerThread:
        self.url = self._serve()
        return self

    def stats(self) -> dict[str, Any]:
        return self._on_loop(self.state.snapshot)


@contextlib.contextmanager
def serve_in_thread(
    config: FakeBedrockConfig | None = None, *, tls: ssl.SSLContext | None = None
) -> Iterator[BedrockServerThread]:
    with BedrockServerThread(config, tls=tls) as server:
        yield server
