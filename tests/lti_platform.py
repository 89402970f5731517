"""An LMS on loopback for the LTI tests, built on ``lti1p3platform`` (an independent
implementation of the platform side of LTI 1.3).

The library makes and signs the launches (``id_token``), checks the tool's deep linking
responses and client assertions against the tool's published key set, issues access tokens
and checks them on the AGS scores and NRPS memberships endpoints. This module only wires it
to a small threaded HTTP server (JWKS, token, scores, memberships) and to the test's
"browser" (a TestClient): what a real LMS's web layer would do.
"""

from __future__ import annotations

import html
import json
import threading
import typing as t
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import (
    AssignmentsGradesService,
    NamesRoleProvisioningService,
    TPage,
)

ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTRUCTOR, LEARNER = ROLE + "Instructor", ROLE + "Learner"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"


def rsa_pem() -> tuple[str, str]:
    """A fresh RSA key pair as (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class PlatformConf(LTI1P3PlatformConfAbstract):
    """The library's platform configuration, holding one registration of the tool."""

    def init_platform_config(self, **kwargs: t.Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: t.Any) -> Registration:
        return self._registration


class Launch(LTIAdvantageMessageLaunchAbstract):
    """A launch built by the library from the tool's authentication request (the redirect
    of its login). ``tamper`` overrides claims, for the refusal tests."""

    def __init__(
        self, auth_request: dict[str, str], conf: PlatformConf, tamper: dict | None = None
    ) -> None:
        super().__init__(None, conf)
        self._auth_request = auth_request
        self._tamper = tamper or {}

    def get_preflight_response(self) -> dict[str, t.Any]:
        return self._auth_request

    def get_launch_message(self, include_extra_claims: bool = True) -> dict[str, t.Any]:
        message = super().get_launch_message(include_extra_claims)
        message.update(self._tamper)
        return message

    def render_launch_form(self, launch_data: dict[str, t.Any], **kwargs: t.Any) -> t.Any:
        return launch_data  # the fields an auto-submitting form would post


class _Req(Request):
    def build_metadata(self, request: t.Any) -> TRequest:
        return request  # type: ignore[no-any-return]


@dataclass
class Platform:
    """The LMS: its registration of the tool, its HTTP endpoints, what it received."""

    tool_url: str = "http://testserver"
    client_id: str = "flopcards-client"
    deployment_id: str = "dep-1"
    private_pem: str = ""
    public_pem: str = ""
    scores: dict[str, list[dict]] = field(default_factory=dict)  # line item → scores posted
    token_requests: list[dict] = field(default_factory=list)
    members: list[dict] = field(default_factory=list)
    failing: int = 0  # answer 503 to this many score posts
    refusing: int | None = None  # answer this status (e.g. 404: line item deleted) to them
    score_posts: int = 0  # score posts received, refused ones too
    jwks_fetches: int = 0  # GET /jwks received
    next_launch: dict = field(default_factory=dict)  # who the browser's next launch is
    returned: list[str] = field(default_factory=list)  # deep linking responses received
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        if not self.private_pem:
            self.private_pem, self.public_pem = rsa_pem()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.issuer + path

    def registration_fields(self) -> dict[str, t.Any]:
        """What the LMS's admin gives the tool's admin (``POST /lti/platforms``)."""
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "deployment_id": self.deployment_id,
            "auth_login_url": self.url("/auth"),
            "token_url": self.url("/token"),
            "keyset_url": self.url("/jwks"),
        }

    def conf(self, tool_jwks: dict | None = None, private_pem: str | None = None) -> PlatformConf:
        registration = (
            Registration()
            .set_iss(self.issuer)
            .set_client_id(self.client_id)
            .set_deployment_id(self.deployment_id)
            .set_launch_url(self.tool_url + "/lti/launch")
            .set_deeplink_launch_url(self.tool_url + "/lti/launch")
            .set_oidc_login_url(self.tool_url + "/lti/login")
            .set_platform_public_key(self.public_pem)
            .set_platform_private_key(private_pem or self.private_pem)
        )
        if tool_jwks is not None:
            registration.set_tool_key_set(tool_jwks)
        return PlatformConf(registration=registration)

    # --- the HTTP side -------------------------------------------------------------------

    def start(self) -> None:
        """Serve on loopback (the same port again after :meth:`stop`)."""
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: t.Any) -> None:
                pass

            def _send(self, code: int, body: t.Any, headers: dict | None = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _request(self, method: str) -> tuple[str, dict]:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                ctype = self.headers.get("Content-Type", "")
                query: dict[str, t.Any] = dict(parse_qsl(parts.query))
                for k in ("page", "limit"):
                    if k in query:
                        query[k] = int(query[k])
                request: dict[str, t.Any] = {
                    "method": method,
                    "form_data": dict(parse_qsl(raw)) if "form" in ctype else {},
                    "get_data": query,
                    "headers": dict(self.headers),
                    "content_type": ctype,
                    "path": parts.path,
                    "json": json.loads(raw) if "json" in ctype and raw else None,
                }
                return parts.path, request

            def _html(self, text: str) -> None:
                data = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                path, request = self._request("GET")
                conf = platform.live_conf
                if path == "/course" and conf is not None:
                    # The LMS's course page: the tool in a frame, started at its login URL.
                    login = platform.tool_url + "/lti/login?" + urlencode({
                        "iss": platform.issuer, "login_hint": platform.next_launch["sub"],
                        "target_link_uri": platform.tool_url + "/lti/launch",
                        "lti_message_hint": "link-1", "client_id": platform.client_id,
                        "lti_deployment_id": platform.deployment_id,
                    })  # fmt: skip
                    self._html(f'<!doctype html><iframe id="tool" src="{html.escape(login)}" '
                               'width="1000" height="800"></iframe>')  # fmt: skip
                elif path == "/auth" and conf is not None:
                    # The authorization endpoint: the library builds and signs the launch,
                    # and the browser posts it to the tool (form_post).
                    data = platform.build_launch(request["get_data"])
                    fields = "".join(
                        f'<input type="hidden" name="{k}" value="{html.escape(str(v))}">'
                        for k, v in data.items() if k in ("id_token", "state")
                    )  # fmt: skip
                    self._html(f'<!doctype html><form id="f" method="post" '
                               f'action="{html.escape(data["launch_url"])}">{fields}</form>'
                               "<script>document.getElementById('f').submit()</script>")  # fmt: skip
                elif path == "/jwks":
                    platform.jwks_fetches += 1
                    self._send(200, conf.get_jwks() if conf else {"keys": []})
                elif path == "/memberships" and conf is not None:
                    service = _Roster(_Req(request), conf, platform.url("/memberships"))
                    service.platform = platform
                    resp = service.handle_resp(service.handle_get_members)
                    body = dict(resp.result or {})
                    headers = {}
                    if body.get("next"):
                        headers["Link"] = f'<{body.pop("next")}>; rel="next"'
                    self._send(resp.code, body or None, headers)
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:  # noqa: N802
                path, request = self._request("POST")
                conf = platform.live_conf
                if conf is None:
                    self._send(503, None)
                elif path == "/deep-link-return":
                    platform.returned.append(request["form_data"].get("JWT", ""))
                    self._html("<!doctype html><p id='placed'>Placed in the course.</p>")
                elif path == "/token":
                    form = request["form_data"]
                    platform.token_requests.append(form)
                    # Canvas's rule, which the library leaves out: aud names the token URL.
                    claims = jwt.decode(
                        form.get("client_assertion", ""), options={"verify_signature": False}
                    )
                    aud = claims.get("aud")
                    auds = aud if isinstance(aud, list) else [aud]
                    if platform.url("/token") not in auds:
                        self._send(400, {"error": "invalid_client"})
                        return
                    try:
                        self._send(200, conf.get_access_token(form))
                    except Exception as exc:  # the library's refusals
                        self._send(400, {"error": str(exc)})
                elif path.startswith("/lineitems/") and path.endswith("/scores"):
                    platform.score_posts += 1
                    if platform.refusing is not None:
                        self._send(platform.refusing, {"error": "line item not found"})
                        return
                    if platform.failing > 0:
                        platform.failing -= 1
                        self._send(503, None)
                        return
                    item = path.split("/")[2]
                    service = _Grades(_Req(request), conf, platform.url("/lineitems"))
                    service.platform = platform
                    resp = service.handle_resp(service.handle_update_score, line_item_id=item)
                    self._send(resp.code, None)
                else:
                    self._send(404, {"error": "not found"})

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def build_launch(self, auth_request: dict[str, str]) -> dict[str, t.Any]:
        """Sign the launch ``next_launch`` describes, answering the tool's redirect."""
        assert self.live_conf is not None
        spec = self.next_launch
        message = Launch(dict(auth_request), self.live_conf)
        message.set_user_data(spec["sub"], spec["roles"], full_name=spec.get("name", "Ada"))
        message.set_launch_context_claim("course-1", context_title="Efficient CNNs")
        message.set_resource_link_claim("link-1", title="Quiz")
        if spec.get("custom"):
            message.set_custom_parameters_claim(spec["custom"])
        if spec.get("lineitem"):
            message.set_ags(self.url("/lineitems"), self.url(f"/lineitems/{spec['lineitem']}"))
        if spec.get("deep_link"):
            message.set_dl(self.url("/deep-link-return"))
        return message.lti_launch()

    def stop(self) -> None:
        """The LMS goes down: connections to it are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    live_conf: PlatformConf | None = None  # set once the tool's key set is known


class _Grades(AssignmentsGradesService):
    platform: Platform

    def update_score(self, line_item_id: str, score: t.Any) -> UpdateScoreStatus:
        self.platform.scores.setdefault(line_item_id, []).append(score)
        return UpdateScoreStatus.SUCCESS

    def find_lineitems(self, *a: t.Any, **k: t.Any) -> TPage:
        raise NotImplementedError

    def find_lineitem(self, *a: t.Any, **k: t.Any) -> t.Any:
        raise NotImplementedError

    def create_lineitem(self, *a: t.Any, **k: t.Any) -> t.Any:
        raise NotImplementedError

    def update_lineitem(self, *a: t.Any, **k: t.Any) -> t.Any:
        raise NotImplementedError

    def delete_lineitem(self, *a: t.Any, **k: t.Any) -> None:
        raise NotImplementedError

    def get_results(self, *a: t.Any, **k: t.Any) -> TPage:
        raise NotImplementedError


class _Roster(NamesRoleProvisioningService):
    platform: Platform

    def get_context_by_id(self) -> Context:
        return Context(id="course-1", label="CNN", title="Efficient CNNs")

    def get_member_data_page(
        self, page: int = 1, limit: int | None = None, **kwargs: t.Any
    ) -> TPage:
        members = self.platform.members
        if limit is None:
            return {"content": list(members), "has_next": False}
        chunk = members[(page - 1) * limit : page * limit]
        return {"content": list(chunk), "has_next": page * limit < len(members)}
