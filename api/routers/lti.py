"""LTI 1.3: registration, the tool's configuration and keys, login, launch, deep linking, the
browser's session, and the course roster (docs/lti.md).

HTTP only: JWT checks and the tool's messages are ``api.services.lti``'s, rows ``api.store.lti``'s,
calls to platforms ``api.services.lti_services``' (run in worker threads, never on the event loop).
A refused login or launch answers a small HTML page naming the reason, with a 4xx status:
it is shown inside the LMS, to a person.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

import anyio.to_thread
from fastapi import APIRouter, Depends, Form, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field, field_validator

from ..db import Database, utcnow
from ..deps import CurrentUser, DbDep, SettingsDep, get_current_user
from ..limits import client_key, limiters
from ..refusals import (
    AdminTokenRequired,
    Conflict,
    Forbidden,
    Incomplete,
    NoAdminToken,
    NotFound,
    Unauthorized,
    UpstreamFailed,
    refusals,
)
from ..security import hash_token, secret_matches, well_formed
from ..services import lti
from ..services.lti import MAX_ID_TOKEN_CHARS, MAX_PARAM_CHARS
from ..services.lti_services import ServiceError, frame_ancestors_of
from ..settings import Settings
from ..store import lti as store
from ..store.courses import assessment_for

__all__ = ["router", "tool_config", "base_url"]

router = APIRouter(tags=["lti"], responses=refusals(Unauthorized))

LOGIN_TTL = timedelta(minutes=10)  # from the login redirect to the launch
CODE_TTL = timedelta(seconds=60)  # from the launch to the page's POST /lti/session
KEY_OVERLAP = timedelta(hours=1)  # a superseded key stays published this long (>> token life)
STATE_COOKIE = "lti_state_"
Text = Annotated[str, Field(min_length=1, max_length=255)]
Url = Annotated[str, Field(min_length=8, max_length=1000)]
Param = Annotated[str, Field(max_length=MAX_PARAM_CHARS)]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value


# --- registration -----------------------------------------------------------------------------


async def require_admin(request: Request, settings: SettingsDep) -> None:
    """The configured admin token (``FLOPCARDS_ADMIN_TOKEN``), compared in constant time."""
    expected = settings.admin_token.get_secret_value() if settings.admin_token else ""
    if not expected:
        raise NoAdminToken(
            "no admin token is configured (FLOPCARDS_ADMIN_TOKEN): use "
            "`flopcards lti add-platform` on the server"
        )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not well_formed(token) or not secret_matches(token, expected):
        raise AdminTokenRequired("the admin bearer token is required")


AdminDep = Annotated[None, Depends(require_admin)]


class PlatformIn(BaseModel):
    """Body of ``POST /lti/platforms``: the values the LMS's admin reads off its tool form."""

    issuer: Url
    client_id: Text
    deployment_id: Text | None = Field(default=None, description="One deployment id")
    deployment_ids: list[Text] = Field(default_factory=list, max_length=100)
    auth_login_url: Url
    token_url: Url
    keyset_url: Url

    _urls = field_validator("issuer", "auth_login_url", "token_url", "keyset_url")(
        classmethod(lambda cls, v: _http_url(v))
    )

    def deployments(self) -> list[str]:
        ids = [*([self.deployment_id] if self.deployment_id else []), *self.deployment_ids]
        return list(dict.fromkeys(ids))


class PlatformPublic(BaseModel):
    """A registered platform."""

    id: int
    issuer: str
    client_id: str
    deployment_ids: list[str]
    auth_login_url: str
    token_url: str
    keyset_url: str


def _platform_public(p: store.PlatformRecord) -> PlatformPublic:
    return PlatformPublic(
        id=p.id, issuer=p.issuer, client_id=p.client_id, deployment_ids=list(p.deployments),
        auth_login_url=p.auth_login_url, token_url=p.token_url, keyset_url=p.keyset_url,
    )  # fmt: skip


@router.post(
    "/lti/platforms",
    status_code=status.HTTP_201_CREATED,
    response_model=PlatformPublic,
    responses=refusals(AdminTokenRequired, NoAdminToken, Incomplete),
)
async def add_platform(
    body: PlatformIn,
    _admin: AdminDep,
    db: DbDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> PlatformPublic:
    """Register a platform (admin token). The same issuer and client id again adds its
    deployments and updates its URLs (200)."""
    if not body.deployments():
        raise Incomplete("give deployment_id (or deployment_ids)")
    fields = body.model_dump(include={"issuer", "client_id", "auth_login_url", "token_url",
                                      "keyset_url"})  # fmt: skip
    record, created = await db.run(store.add_platform, fields, body.deployments(), utcnow())
    # Its pages may now frame the study page (other replicas see it within a minute).
    request.app.state.page_frame_ancestors = await anyio.to_thread.run_sync(
        frame_ancestors_of, db, settings.lti_frame_ancestors
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return _platform_public(record)


@router.get(
    "/lti/platforms",
    response_model=list[PlatformPublic],
    responses=refusals(AdminTokenRequired, NoAdminToken),
)
async def list_platforms(_admin: AdminDep, db: DbDep) -> list[PlatformPublic]:
    """Every registered platform (admin token)."""
    return [_platform_public(p) for p in await db.run(store.list_platforms)]


# --- what the LMS's admin pastes --------------------------------------------------------------


def base_url(request: Request, settings: Settings) -> str:
    """The service's public address, without a trailing slash."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


def tool_config(base: str) -> dict[str, Any]:
    """The URLs and values an LMS's LTI 1.3 tool form asks for."""
    return {
        "title": "flopcards",
        "description": "Generated questions on efficient CNN architectures, graded against "
        "real layers; grades return to the LMS.",
        "target_link_uri": f"{base}/lti/launch",
        "oidc_initiation_url": f"{base}/lti/login",
        "redirect_uris": [f"{base}/lti/launch"],
        "deep_linking_url": f"{base}/lti/launch",
        "jwks_url": f"{base}/lti/jwks",
        "domain": urlsplit(base).netloc,
        "scopes": [
            lti.AGS_SCORE_SCOPE,
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
            lti.NRPS_SCOPE,
        ],
        "messages": [lti.RESOURCE_LINK, lti.DEEP_LINKING],
        "custom_parameters": {"assessment_id": "set by deep linking"},
        "privacy": "name (for the gradebook); email is not needed and never used",
    }


@router.get("/lti/config")
async def config(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """The tool's login, launch, deep-linking and key-set URLs, for the LMS's admin."""
    return tool_config(base_url(request, settings))


@router.get("/lti/jwks")
async def jwks(db: DbDep) -> dict[str, Any]:
    """The tool's public keys: the signing key, and a superseded one for an hour more."""
    await db.offload(store.ensure_key, utcnow())  # made at first need (keygen: a thread)
    return {"keys": await db.run(store.published_keys, utcnow() - KEY_OVERLAP)}


# --- login and launch -------------------------------------------------------------------------


def _refused(reason: str, code: int = 400) -> HTMLResponse:
    return HTMLResponse(lti.refusal_page(reason), status_code=code)


async def _login_params(request: Request) -> dict[str, str]:
    if request.method == "POST":
        form = await request.form()
        raw: dict[str, Any] = dict(form)
    else:
        raw = dict(request.query_params)
    return {k: v for k, v in raw.items() if isinstance(v, str)}


_PAGE: dict[str, Any] = {"content": {"text/html": {}}}
_LOGIN_DOC: dict[str, Any] = {
    "response_class": RedirectResponse,
    "status_code": 302,
    "responses": {
        302: {"description": "To the platform's authorization URL"},
        400: _PAGE | {"description": "Refused: the page names the reason"},
        429: _PAGE | {"description": "Too many logins from this address (Retry-After)"},
    },
}


@router.get("/lti/login", **_LOGIN_DOC)
async def login_get(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    """OIDC third-party initiated login, parameters in the query (see the POST)."""
    return await login(request, db, settings)


@router.post("/lti/login", **_LOGIN_DOC)
async def login(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    """OIDC third-party initiated login: keep a state and a nonce, send the browser to the
    platform. The state is bound to this browser by a cookie (``SameSite=None; Secure`` over
    HTTPS, as the LMS's page embeds the tool)."""
    params = await _login_params(request)
    for name in ("iss", "login_hint", "target_link_uri"):
        if not params.get(name):
            return _refused(f"the login request lacks {name}")
    if any(len(v) > MAX_PARAM_CHARS for v in params.values()):
        return _refused(f"a login parameter is longer than {MAX_PARAM_CHARS} characters")
    base = base_url(request, settings)
    target = params["target_link_uri"]
    if not (target == base or target.startswith(base + "/")):
        return _refused("target_link_uri is not an address of this tool")
    try:
        platform = await db.run(store.platform_for_login, params["iss"], params.get("client_id"))
    except (NotFound, Conflict) as exc:
        return _refused(str(exc))
    deployment = params.get("lti_deployment_id")
    if deployment is not None and deployment not in platform.deployments:
        return _refused(f"deployment {deployment!r} is not registered for this platform")
    # Each login keeps a row until the launch or for LOGIN_TTL, and anyone can start one:
    # bounded per client address (a class launching from one address fits the burst).
    wait = limiters(request).lti_login.wait_s(client_key(request))
    if wait:
        page = _refused("too many launches from this address: wait a moment and open the "
                        "activity again", 429)  # fmt: skip
        page.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return page
    state, state_hash = store.new_secret()
    nonce, _ = store.new_secret()
    now = utcnow()
    await db.run(store.start_login, state_hash, nonce, platform.id, target, now, now + LOGIN_TTL)
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": f"{base}/lti/launch",
        "login_hint": params["login_hint"],
        "state": state,
        "nonce": nonce,
    }
    if "lti_message_hint" in params:
        query["lti_message_hint"] = params["lti_message_hint"]
    parts = urlsplit(platform.auth_login_url)
    joined = "&".join(filter(None, (parts.query, urlencode(query))))
    response = RedirectResponse(urlunsplit(parts._replace(query=joined)), status_code=302)
    secure = base.startswith("https://")
    response.set_cookie(
        STATE_COOKIE + state_hash[:32],
        state,
        max_age=int(LOGIN_TTL.total_seconds()),
        path="/lti",
        secure=secure,
        httponly=True,
        samesite="none" if secure else "lax",
    )
    return response


@router.post(
    "/lti/launch",
    response_class=RedirectResponse,
    status_code=303,
    responses={
        303: {"description": "To the study page, with a one-time code"},
        **{
            c: _PAGE | {"description": "Refused: the page names the reason"}
            for c in (400, 401, 403, 404, 409)
        },
    },
)
async def launch(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    id_token: Annotated[str, Form(max_length=MAX_ID_TOKEN_CHARS)] = "",
    state: Annotated[str, Form(max_length=MAX_PARAM_CHARS)] = "",
) -> Response:
    """The platform's launch: verify it (signature, issuer, audience, expiry, nonce, state,
    deployment, version, message type), then map the user and course and send the browser
    to the study page with a one-time code. Any failure: a 4xx page naming the reason, and
    nothing is created."""
    if not id_token or not state:
        return _refused("the launch lacks id_token or state")
    state_hash = hash_token(state)
    cookie = request.cookies.get(STATE_COOKIE + state_hash[:32])
    if cookie is None or not secret_matches(cookie, state):
        return _refused(
            "the state does not belong to this browser (wrong state, or the browser blocked "
            "the tool's cookie: open the tool in a new window)", 401,
        )  # fmt: skip
    now = utcnow()
    try:
        login_state = await db.run(store.login_for, state_hash, now)
        platform = await db.run(store.platform_by_id, login_state.platform_id)
    except NotFound as exc:
        return _refused(str(exc))
    keysets: lti.KeySets = request.app.state.lti_keysets
    try:
        key = await anyio.to_thread.run_sync(keysets.key_for, platform.keyset_url, id_token)
        claims = lti.verify_launch(
            id_token, key, platform.issuer, platform.client_id, login_state.nonce,
            set(platform.deployments),
        )  # fmt: skip
    except lti.LaunchRefused as exc:
        return _refused(exc.reason, exc.status)
    code, code_hash = store.new_secret()
    try:
        await db.run(store.record_launch, platform.id, platform.issuer, state_hash, claims,
                     code_hash, now + CODE_TTL, now)  # fmt: skip
    except Conflict as exc:
        return _refused(str(exc), 409)
    except NotFound as exc:
        return _refused(str(exc), 404)
    target = f"{base_url(request, settings)}/?{urlencode({'lti_code': code})}"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(STATE_COOKIE + state_hash[:32], path="/lti")
    return response


class CodeIn(BaseModel):
    """Body of ``POST /lti/session``: the code the launch put in the page's address."""

    code: str = Field(min_length=1, max_length=256)


class LtiSession(BaseModel):
    """A bearer token for the launched user (the API's and the page's), and where to go."""

    token: str
    user_id: int
    name: str
    launch_id: int
    course_id: int
    assessment_id: int | None
    message_type: str
    role: Literal["instructor", "student"]
    expires_in: int


@router.post("/lti/session", response_model=LtiSession, responses=refusals(NotFound))
async def session(body: CodeIn, db: DbDep, settings: SettingsDep) -> LtiSession:
    """Exchange a launch's one-time code (single use, one minute) for a bearer token. The
    page inside the LMS's frame signs in this way, without third-party cookies."""
    lifetime = timedelta(hours=settings.lti_session_hours)
    grant = await db.run(store.redeem_code, hash_token(body.code), utcnow(), lifetime)
    return LtiSession(
        token=grant.token, user_id=grant.user_id, name=grant.name, launch_id=grant.launch_id,
        course_id=grant.course_id, assessment_id=grant.assessment_id,
        message_type=grant.message_type, role=grant.role,  # type: ignore[arg-type]
        expires_in=int(lifetime.total_seconds()),
    )  # fmt: skip


# --- deep linking -----------------------------------------------------------------------------


class DeepLinkIn(BaseModel):
    """Body of ``POST /lti/deep-link``: the deep linking launch and the chosen assessment."""

    launch_id: int = Field(ge=1, le=2**62)
    assessment_id: int = Field(ge=1, le=2**62)


@router.post(
    "/lti/deep-link",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}, "application/json": {}}},
        **refusals(Unauthorized, Forbidden, NotFound, Conflict),
    },
)
async def deep_link(
    body: DeepLinkIn,
    user: CurrentUser,
    db: DbDep,
    format: Annotated[Literal["html", "json"], Query()] = "html",
) -> Response:
    """Place an assessment in the LMS: the signed ``LtiDeepLinkingResponse`` as the form the
    browser posts to the platform (html), or its URL and JWT (json)."""
    assert user.id is not None
    url, token = await _deep_link_response(db, user.id, body.launch_id, body.assessment_id)
    if format == "json":
        return Response(
            json.dumps({"return_url": url, "jwt": token}), media_type="application/json"
        )
    return HTMLResponse(lti.auto_submit_form(url, {"JWT": token}))


@router.post(
    "/lti/deep-link/form",
    response_class=HTMLResponse,
    responses=refusals(Forbidden, NotFound, Conflict),
)
async def deep_link_form(
    request: Request,
    db: DbDep,
    access_token: Annotated[str, Form(max_length=256)],
    launch_id: Annotated[int, Form(ge=1, le=2**62)],
    assessment_id: Annotated[int, Form(ge=1, le=2**62)],
) -> Response:
    """The same choice posted by the study page as a plain form (its token a field): the
    page's policy lets forms go to this origin only, and this page, not the study page,
    returns to the LMS."""
    credentials = HTTPAuthorizationCredentials(scheme="bearer", credentials=access_token)
    user = await get_current_user(request, credentials)
    assert user.id is not None
    url, token = await _deep_link_response(db, user.id, launch_id, assessment_id)
    return HTMLResponse(lti.auto_submit_form(url, {"JWT": token}))


async def _deep_link_response(
    db: Database, user_id: int, launch_id: int, assessment_id: int
) -> tuple[str, str]:
    """The return URL and the signed response placing the assessment, for the instructor
    of a deep linking launch."""
    record = await db.run(store.launch_for, launch_id, user_id)
    if record.message_type != lti.DEEP_LINKING or record.deep_linking is None:
        raise Conflict(f"launch {launch_id} is not a deep linking request")
    assessment, _role = await db.run(assessment_for, assessment_id, user_id, True)
    if assessment.course_id != record.course_id:
        raise NotFound(f"assessment {assessment_id} is not one of this course's")
    platform = await db.run(store.platform_by_id, record.platform_id)
    key = await db.offload(store.ensure_key, utcnow())
    score_maximum = float(assessment.request.get("count") or 0)
    claims = lti.deep_linking_response(
        platform.client_id, platform.issuer, record.deployment_id,
        record.deep_linking.get("data"), assessment.id, assessment.title, score_maximum,
    )  # fmt: skip
    return record.deep_linking["return_url"], lti.sign(claims, key)


# --- roster -----------------------------------------------------------------------------------


@router.post(
    "/courses/{course_id:int}/lti/roster",
    responses=refusals(Forbidden, NotFound, Conflict, UpstreamFailed),
)
async def sync_roster(
    course_id: Annotated[int, Path(ge=1, le=2**62)],
    request: Request,
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
) -> dict[str, int]:
    """Make the LMS course's members members here (Names and Role Provisioning, every page
    of it); instructors only."""
    assert user.id is not None
    source = await db.run(store.roster_source, course_id, user.id)
    platform = await db.run(store.platform_by_id, source.platform_id)
    key = await db.offload(store.ensure_key, utcnow())
    calls = request.app.state.lti_calls
    try:
        members = await anyio.to_thread.run_sync(
            calls.roster, platform, key, source.memberships_url, settings.lti_roster_max_members
        )
    except ServiceError as exc:
        raise UpstreamFailed(f"the LMS's roster could not be read: {exc}") from exc
    return await db.run(store.sync_members, course_id, user.id, source.issuer, members, utcnow())


class PassbackPublic(BaseModel):
    """Where one student's grade for one assessment stands with the LMS."""

    student_id: int
    assessment_id: int
    state: Literal["pending", "sent", "refused"] = Field(
        description="refused: the LMS refused this score for good (e.g. its line item was "
        "deleted); sent again when the score changes or on POST …/lti/grades/retry"
    )
    score_given: float
    attempts: int = Field(description="Failed deliveries of the current score")
    last_error: str | None
    sent_at: Any


@router.get(
    "/courses/{course_id:int}/lti/grades",
    response_model=list[PassbackPublic],
    responses=refusals(Forbidden, NotFound),
)
async def grades(
    course_id: Annotated[int, Path(ge=1, le=2**62)], user: CurrentUser, db: DbDep
) -> list[PassbackPublic]:
    """Each grade of the course that goes back to an LMS: sent, or pending with the
    failed attempts and the last error (instructors only)."""
    assert user.id is not None
    rows = await db.run(store.passback_status, course_id, user.id)
    return [
        PassbackPublic(
            student_id=student,
            assessment_id=assessment,
            state=p.state,  # type: ignore[arg-type]
            score_given=p.score_given,
            attempts=p.attempts,
            last_error=p.last_error,
            sent_at=p.sent_at,
        )  # fmt: skip
        for (student, assessment), p in sorted(rows.items())
    ]


@router.post(
    "/courses/{course_id:int}/lti/grades/retry",
    responses=refusals(Forbidden, NotFound),
)
async def retry_grades(
    course_id: Annotated[int, Path(ge=1, le=2**62)], request: Request, user: CurrentUser, db: DbDep
) -> dict[str, int]:
    """Send the course's grades the LMS refused again, once its side is fixed (a line item
    put back, a grade scope granted); instructors only. Returns how many go again."""
    assert user.id is not None
    count = await db.run(store.retry_refused, course_id, user.id, utcnow())
    outbox = getattr(request.app.state, "lti_outbox", None)
    if count and outbox is not None:
        outbox.wake()
    return {"requeued": count}
