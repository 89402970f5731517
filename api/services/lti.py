"""LTI 1.3 (1EdTech): what the platform sends, how it is checked, what the tool signs.

Every JWT is read and written by PyJWT (with ``cryptography``): a launch's ``id_token`` is
verified against the platform's key set (fetched by :class:`KeySets`, cached, refetched when
a token names an unknown ``kid``), then its claims are checked here, one named refusal per
rule of the LTI Core specification (:class:`LaunchRefused`). The tool's own messages (deep
linking responses, client assertions for the platform's token endpoint) are signed with the
newest of the tool's keys, whose public halves ``GET /lti/jwks`` publishes.

Nothing here touches the database or the network on the event loop: the key set fetch is
blocking and runs in a worker thread (``api.routers.lti``); the store keeps state, nonces
and launches (``api.store.lti``); grades and rosters travel through ``api.services.lti_services``.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

__all__ = [
    "LaunchRefused",
    "Launch",
    "KeySets",
    "SigningKey",
    "new_key_pair",
    "verify_launch",
    "sign",
    "deep_linking_response",
    "client_assertion",
    "auto_submit_form",
    "refusal_page",
    "frame_ancestors",
    "role_of",
    "AGS_SCORE_SCOPE",
    "NRPS_SCOPE",
    "MAX_ID_TOKEN_CHARS",
    "MAX_PARAM_CHARS",
]

# The sizes a login or a launch may send (their routes bound them; ``api.limits`` lists them
# from here, which it could not from the router without an import cycle).
MAX_ID_TOKEN_CHARS = 65_536
MAX_PARAM_CHARS = 2048

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS_SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
RESOURCE_LINK, DEEP_LINKING = "LtiResourceLinkRequest", "LtiDeepLinkingRequest"
MESSAGE_TYPES = (RESOURCE_LINK, DEEP_LINKING)

# Roles (LIS vocabulary, LTI Core appendix A.2). What someone is in *this course* is said by
# the context roles (``…/membership#Role``, sub-roles ``…/membership/Role#Sub``, or the simple
# names ``Instructor``, ``Learner`` the specification lets platforms send); institution and
# system roles (``…/institution/person#Role``, ``…/system/person#Role``) say what they are
# elsewhere: a teacher of another course who is a Learner here (Canvas sends
# ``institution/person#Instructor`` for them) is a student here. A principal context role of
# Instructor, Administrator or TeachingAssistant (any of their sub-roles included) teaches;
# Learner (any sub-role, ``Learner#Instructor`` too) studies. Only with no context role at all
# does an institution or system Administrator (an LMS admin opening the tool) teach.
_LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
_TEACHING = frozenset({"Instructor", "Administrator", "TeachingAssistant"})
_ADMINS = (_LIS + "institution/person#Administrator", _LIS + "system/person#Administrator")

CLOCK_LEEWAY_S = 60  # platforms' clocks drift; exp and iat are checked with this slack
TOOL_TOKEN_LIFETIME_S = 300  # deep linking responses and client assertions the tool signs
RSA_BITS = 2048


class LaunchRefused(Exception):
    """A launch (or login) that breaks a rule: answered with ``status`` and the reason."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


# --- the tool's keys --------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """One of the tool's key pairs: ``kid``, the private key (PEM) and the public JWK."""

    kid: str
    private_pem: str
    public_jwk: dict[str, Any]


def new_key_pair() -> SigningKey:
    """A fresh RSA key pair for RS256, with a random key id."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    kid = secrets.token_urlsafe(16)
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk |= {"kid": kid, "alg": "RS256", "use": "sig"}
    return SigningKey(kid, pem, jwk)


def sign(payload: dict[str, Any], key: SigningKey) -> str:
    """A JWT of ``payload`` signed RS256 with the tool's key, naming it by ``kid``."""
    return jwt.encode(payload, key.private_pem, algorithm="RS256", headers={"kid": key.kid})


# --- the platforms' keys ----------------------------------------------------------------------


class KeySets:
    """Platforms' key sets by URL, each cached by a :class:`jwt.PyJWKClient`.

    A token naming a ``kid`` the cached set lacks (a platform that rotated its key) makes
    the set be fetched again at once, unless another such refetch of the same set happened
    in the last ``REFETCH_INTERVAL_S``: a refused launch leaves its login usable, so tokens
    with made-up ``kid`` values could otherwise make the tool fetch the platform's key set
    once per request. (PyJWT's own cooldown, 30 s after any fetch, the first one included,
    refused the first launches after a rotation; it is not used.) Fetches are blocking,
    with ``timeout_s``: callers run :meth:`key_for` in a worker thread.
    """

    REFETCH_INTERVAL_S = 1.0

    def __init__(self, timeout_s: float = 5.0, lifespan_s: float = 3600.0) -> None:
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._refetched: dict[str, float] = {}
        self._lock = threading.Lock()
        self._timeout, self._lifespan = timeout_s, lifespan_s

    def _may_refetch(self, keyset_url: str) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._refetched.get(keyset_url, -1e9) < self.REFETCH_INTERVAL_S:
                return False
            self._refetched[keyset_url] = now
            return True

    def key_for(self, keyset_url: str, token: str) -> Any:
        """The platform key that signed ``token``; LaunchRefused when none does."""
        with self._lock:
            client = self._clients.get(keyset_url)
            if client is None:
                client = jwt.PyJWKClient(
                    keyset_url, lifespan=self._lifespan, timeout=int(max(1, self._timeout))
                )
                self._clients[keyset_url] = client
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise LaunchRefused(f"the id_token is not a JWT ({exc})") from exc
        if not isinstance(kid, str) or not kid:
            raise LaunchRefused("the id_token names no key of the platform (kid)")
        try:
            found = client.match_kid(client.get_signing_keys(), kid)
            if found is None and self._may_refetch(keyset_url):
                found = client.match_kid(client.get_signing_keys(refresh=True), kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise LaunchRefused(f"the platform's key set could not be fetched ({exc})") from exc
        except jwt.PyJWKClientError as exc:
            raise LaunchRefused(f"the platform's key set has no usable key ({exc})") from exc
        if found is None:
            raise LaunchRefused(
                f"no key of the platform's key set signed the token (kid {kid[:60]!r})"
            )
        return found.key


# --- a launch ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    """What a verified launch says, in the tool's terms."""

    message_type: str
    deployment_id: str
    sub: str
    name: str
    role: str  # "instructor" or "student"
    context_id: str
    context_title: str
    resource_link_id: str | None
    custom: dict[str, Any]
    lineitem_url: str | None
    ags_scopes: list[str]
    memberships_url: str | None
    deep_linking: dict[str, Any] | None
    claims: dict[str, Any] = field(repr=False)

    @property
    def assessment_id(self) -> int | None:
        """The ``assessment_id`` custom parameter (set by deep linking), if an integer."""
        value = self.custom.get("assessment_id")
        try:
            number = int(str(value))
        except (TypeError, ValueError):
            return None
        return number if 1 <= number <= 2**62 else None


def _context_role(role: str) -> str | None:
    """The principal context role a role names (``Instructor`` for
    ``…/membership/Instructor#TeachingAssistant``), or None for another vocabulary."""
    if role.startswith(_LIS + "membership#"):
        return role.removeprefix(_LIS + "membership#")
    if role.startswith(_LIS + "membership/"):
        return role.removeprefix(_LIS + "membership/").partition("#")[0]
    if role.isalpha():  # a simple name (LTI Core A.2.3: "Instructor", "Learner")
        return role
    return None


def role_of(roles: Any) -> str | None:
    """``instructor`` for a teaching role in the course, ``student`` for a learner in it,
    None otherwise (the context roles decide; see ``_TEACHING``)."""
    if not isinstance(roles, list):
        return None
    names = [r.strip() for r in roles if isinstance(r, str)]
    context = {c for c in map(_context_role, names) if c is not None}
    if context & _TEACHING:
        return "instructor"
    if "Learner" in context:
        return "student"
    if not context and any(r in _ADMINS for r in names):
        return "instructor"
    return None


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def verify_launch(
    token: str,
    key: Any,
    issuer: str,
    client_id: str,
    nonce: str,
    deployments: set[str],
) -> Launch:
    """Check a launch's ``id_token`` as LTI Core 1.3 (section 5.1.3) requires.

    ``key`` is the platform key that signed it (:meth:`KeySets.key_for`). PyJWT checks the
    signature, ``iss``, ``aud``, ``exp`` and ``iat``; this then checks ``azp``, the nonce of
    the login this launch answers, the deployment, the version and the message type. A nonce
    never seen before is the store's rule (a unique key), checked when the launch is kept.
    """
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=client_id,
            issuer=issuer,
            leeway=CLOCK_LEEWAY_S,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise LaunchRefused("the id_token has expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise LaunchRefused(
            f"the id_token's audience is not this tool's client id ({exc})"
        ) from exc
    except jwt.InvalidIssuerError as exc:
        raise LaunchRefused("the id_token's issuer is not the platform of this login") from exc
    except jwt.InvalidSignatureError as exc:
        raise LaunchRefused("the id_token's signature does not verify") from exc
    except jwt.ImmatureSignatureError as exc:
        raise LaunchRefused("the id_token was issued in the future (iat)") from exc
    except jwt.InvalidTokenError as exc:
        raise LaunchRefused(f"the id_token is invalid ({exc})") from exc
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and "azp" not in claims:
        raise LaunchRefused("the id_token has several audiences and no azp")
    if "azp" in claims and claims["azp"] != client_id:
        raise LaunchRefused("the id_token's azp is not this tool's client id")
    if not isinstance(claims["nonce"], str) or not secrets.compare_digest(
        claims["nonce"].encode(), nonce.encode()
    ):
        raise LaunchRefused("the id_token's nonce is not the one of this login")
    if claims.get(LTI + "version") != "1.3.0":
        raise LaunchRefused("the launch is not LTI version 1.3.0")
    message_type = claims.get(LTI + "message_type")
    if message_type not in MESSAGE_TYPES:
        raise LaunchRefused(f"message type {message_type!r} is not supported")
    deployment_id = claims.get(LTI + "deployment_id")
    if not isinstance(deployment_id, str) or deployment_id not in deployments:
        raise LaunchRefused(f"deployment {deployment_id!r} is not registered for this platform")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise LaunchRefused("the launch has no user (sub)")
    role = role_of(claims.get(LTI + "roles"))
    if role is None:
        raise LaunchRefused("the launch's roles are neither a teaching role nor Learner", 403)
    context = claims.get(LTI + "context")
    if not isinstance(context, dict) or not _text(context.get("id"), 255):
        raise LaunchRefused("the launch has no course context")
    if len(context["id"].strip()) > 255:
        # Cut, two LMS courses sharing the first 255 characters would be one course here.
        raise LaunchRefused("the launch's context id is longer than 255 characters")
    resource_link = claims.get(LTI + "resource_link")
    link_id = resource_link.get("id") if isinstance(resource_link, dict) else None
    if message_type == RESOURCE_LINK and not isinstance(link_id, str):
        raise LaunchRefused("a resource link launch needs its resource_link id")
    deep_linking = None
    if message_type == DEEP_LINKING:
        settings = claims.get(DL + "deep_linking_settings")
        if not isinstance(settings, dict) or not isinstance(
            settings.get("deep_link_return_url"), str
        ):
            raise LaunchRefused("a deep linking request needs deep_link_return_url")
        if role != "instructor":
            raise LaunchRefused("only instructors choose what to link", 403)
        accepted = settings.get("accept_types")
        if isinstance(accepted, list) and "ltiResourceLink" not in accepted:
            # A placement for files or links only (e.g. a submission or an editor button):
            # what this tool places, an activity with a grade, cannot go there.
            shown = ", ".join(str(t)[:40] for t in accepted[:10]) or "none"
            raise LaunchRefused(
                "this placement accepts no LTI resource link (it accepts: "
                f"{shown}): add flopcards as an activity instead"
            )
        deep_linking = {
            "return_url": settings["deep_link_return_url"],
            "data": settings.get("data"),
            "accept_types": settings.get("accept_types") or [],
        }
    ags = claims.get(AGS_CLAIM)
    ags = ags if isinstance(ags, dict) else {}
    scopes = ags.get("scope")
    scopes = [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else []
    lineitem = ags.get("lineitem")
    # Grades go back only where the platform granted the score scope (the token endpoint
    # would refuse it otherwise, every try), and only to an http(s) line item.
    if (
        not isinstance(lineitem, str)
        or len(lineitem) > 1000
        or AGS_SCORE_SCOPE not in scopes
        or not lineitem.startswith(("https://", "http://"))
    ):
        lineitem = None
    nrps = claims.get(NRPS_CLAIM)
    memberships = nrps.get("context_memberships_url") if isinstance(nrps, dict) else None
    custom = claims.get(LTI + "custom")
    name = _text(claims.get("name"), 100) or " ".join(
        filter(None, (_text(claims.get("given_name"), 50), _text(claims.get("family_name"), 49)))
    )
    return Launch(
        message_type=message_type,
        deployment_id=deployment_id,
        sub=sub,
        name=name or "LMS user",
        role=role,
        context_id=_text(context.get("id"), 255),
        context_title=_text(context.get("title"), 200) or "LMS course",
        resource_link_id=link_id if isinstance(link_id, str) else None,
        custom=custom if isinstance(custom, dict) else {},
        lineitem_url=lineitem,
        ags_scopes=scopes,
        memberships_url=memberships if isinstance(memberships, str) else None,
        deep_linking=deep_linking,
        claims=claims,
    )


# --- what the tool signs ----------------------------------------------------------------------


def deep_linking_response(
    client_id: str,
    issuer: str,
    deployment_id: str,
    data: Any,
    assessment_id: int,
    title: str,
    score_maximum: float,
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of an ``LtiDeepLinkingResponse`` placing one assessment, graded out of
    ``score_maximum``: the platform makes its line item from ``lineItem`` (one per link,
    never one per attempt), and launches it with ``custom.assessment_id``."""
    now = time.time() if now is None else now
    claims: dict[str, Any] = {
        "iss": client_id,
        "aud": issuer,
        "iat": int(now),
        "exp": int(now) + TOOL_TOKEN_LIFETIME_S,
        "nonce": secrets.token_urlsafe(16),
        LTI + "message_type": "LtiDeepLinkingResponse",
        LTI + "version": "1.3.0",
        LTI + "deployment_id": deployment_id,
        DL + "content_items": [
            {
                "type": "ltiResourceLink",
                "title": title,
                "custom": {"assessment_id": str(assessment_id)},
                "lineItem": {
                    "scoreMaximum": score_maximum,
                    "label": title,
                    "resourceId": str(assessment_id),
                },
            }
        ],
    }
    if data is not None:
        claims[DL + "data"] = data
    return claims


def client_assertion(client_id: str, token_url: str, key: SigningKey) -> str:
    """The JWT the tool presents at the platform's token endpoint (client credentials).
    ``aud`` is the token URL itself, which Canvas requires."""
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": [token_url],
        "iat": now,
        "exp": now + TOOL_TOKEN_LIFETIME_S,
        "jti": secrets.token_urlsafe(16),
    }
    return sign(payload, key)


def frame_ancestors(urls: list[str], extra: str) -> str:
    """The CSP ``frame-ancestors`` sources of the study page: this origin, the origins of
    the registered platforms' URLs, and the configured extra ones ('' without either)."""
    from urllib.parse import urlsplit

    origins = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    origins += [o for o in extra.split() if o and ";" not in o and "'" not in o and "," not in o]
    if not origins:
        return ""
    return " ".join(["'self'", *dict.fromkeys(origins)])


# --- pages ------------------------------------------------------------------------------------


def auto_submit_form(url: str, fields: dict[str, str]) -> str:
    """An HTML page whose form POSTs ``fields`` to ``url`` as soon as it loads (with a
    button for a browser that runs no scripts)."""
    inputs = "\n".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in fields.items()
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>Returning to your course</title>"
        "</head><body>"
        f'<form id="lti" method="post" action="{html.escape(url)}">{inputs}'
        '<button type="submit">Continue</button></form>'
        "<script>document.getElementById('lti').submit()</script></body></html>"
    )


def refusal_page(reason: str) -> str:
    """The page a refused launch shows inside the LMS: the reason, in words."""
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>Launch refused</title></head>"
        f"<body><h1>This launch was refused</h1><p>{html.escape(reason)}</p>"
        "<p>Ask your course's administrator to check the tool's registration.</p>"
        "</body></html>"
    )
