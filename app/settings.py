"""Spanwise's one settings object.

Values come, highest precedence first, from the arguments a caller passes, ``SPANWISE_*``
environment variables, a ``.env`` file, and an optional TOML config file (``--config`` or
``SPANWISE_CONFIG``). Nothing reads settings at import time: build a ``Settings`` and pass it.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any, ClassVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SPANWISE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    config_file: ClassVar[Path | None] = None

    data_dir: Path = Field(
        default=Path(".spanwise"),
        description="Where Spanwise keeps its stores, caches and pulled spans.",
    )

    # Grafana Tempo
    tempo_url: str | None = Field(
        default=None, description="Tempo's HTTP API, e.g. http://localhost:3200"
    )
    tempo_tenant: str | None = Field(
        default=None, description="X-Scope-OrgID; 'a|b' queries several tenants at once."
    )
    tempo_tenants: dict[str, str] = Field(
        default_factory=dict,
        description="Spanwise tenant -> its X-Scope-OrgID in Tempo, where the names differ; "
        "unmapped tenants use their own name, the default tenant tempo_tenant.",
    )
    tempo_token: SecretStr | None = Field(default=None, description="Bearer token for Tempo.")
    tempo_username: str | None = None
    tempo_password: SecretStr | None = None
    tempo_connect_timeout_s: float = 5.0
    tempo_read_timeout_s: float = 30.0
    tempo_max_retries: int = Field(default=4, ge=0)
    tempo_concurrency: int = Field(default=8, ge=1, description="Parallel by-id fetches.")
    tempo_search_limit: int = Field(default=500, ge=1, description="Traces per search slice.")
    discovery_slice_s: int = Field(
        default=60,
        ge=1,
        description="Discovery from Tempo samples the window in slices of about this many seconds.",
    )
    discovery_traces_per_slice: int = Field(
        default=20, ge=1, description="Traces discovery from Tempo takes from each slice at most."
    )

    # Language model (OpenAI or any OpenAI-compatible server)
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "SPANWISE_OPENAI_API_KEY", "OPENAI_API_KEY", "openai_api_key"
        ),
    )
    model_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "SPANWISE_MODEL_BASE_URL", "OPENAI_BASE_URL", "model_base_url"
        ),
        description="An OpenAI-compatible endpoint: vLLM, Ollama, llama.cpp server, LM Studio.",
    )
    model_name: str = "gpt-4o-mini"
    model_usd_per_million_prompt_tokens: float = Field(
        default=0.15, ge=0, description="For cost estimates; 0 for a server of your own."
    )
    model_usd_per_million_completion_tokens: float = Field(default=0.60, ge=0)
    model_timeout_s: float = 60.0
    model_max_retries: int = 2
    embedding_model: str | None = Field(
        default=None,
        description="An OpenAI-compatible embedding model (text-embedding-3-small); unset: "
        "all-MiniLM-L6-v2 offline.",
    )
    chroma_url: str | None = Field(
        default=None, description="A Chroma server; unset: a persistent Chroma in the data dir."
    )
    chroma_token: SecretStr | None = None
    classify_batch_size: int = Field(
        default=40, ge=1, le=100, description="Patterns per classification request."
    )
    redact_attribute_names: list[str] = Field(
        default_factory=list,
        description="Attributes whose values never leave the process, beyond the built-in "
        "secret and personal ones (authorization, cookie, client.address...).",
    )

    answer_token_budget: int = Field(
        default=3000, ge=500, description="Prompt tokens a model's answer may use at most."
    )
    chat_window_s: int = Field(
        default=3600,
        ge=60,
        description=("With a Tempo: the window live numbers cover when a question names none."),
    )

    # Links to Grafana in answers
    grafana_url: str | None = Field(
        default=None, description="Grafana's URL: answers link each pattern to Explore."
    )
    grafana_tempo_datasource_uid: str = Field(
        default="tempo", description="The uid of the Tempo data source in that Grafana."
    )

    # Slack bot
    slack_bot_token: SecretStr | None = Field(
        default=None, description="The bot's xoxb- token: answers are posted with it."
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="Verifies that requests to /slack/events come from Slack."
    )
    slack_app_token: SecretStr | None = Field(
        default=None, description="An xapp- token with connections:write, for `spanwise slack`."
    )
    slack_api_url: str | None = Field(
        default=None, description="Slack's Web API base URL; unset: https://slack.com/api/"
    )
    slack_slash_in_channel: bool = Field(
        default=False, description="Answer /spanwise in the channel; unset: only to the asker."
    )
    slack_tenants: dict[str, str] = Field(
        default_factory=dict,
        description="Slack team or channel id -> Spanwise tenant; a channel wins over its team.",
    )
    public_url: str | None = Field(
        default=None,
        description="Where people reach this Spanwise (https://spanwise.example.com): "
        "links in Slack answers point there.",
    )

    # Evals
    judge_model: str | None = Field(
        default=None,
        description="A model that judges eval answers (same endpoint and key as the model); "
        "unset: deterministic checks only.",
    )

    # The Spanwise server
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=1, le=65535)
    max_request_bytes: int = Field(
        default=16 * 1024 * 1024, description="Largest request body, after gzip decompression."
    )
    api_max_body_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Largest body of API requests other than OTLP."
    )
    live_discovery_s: float = Field(
        default=30.0,
        gt=0,
        description="How often spans pushed to the receiver are folded into patterns.",
    )
    live_buffer_spans: int = Field(
        default=50_000,
        ge=100,
        description="Pushed spans held until they are folded in; beyond, the receiver "
        "answers 503 and OTLP exporters retry.",
    )
    auth_required: bool = Field(
        default=False,
        description="Require a token on every route even on loopback (behind a reverse proxy).",
    )
    max_span_duration_s: float = Field(
        default=86_400,
        gt=0,
        description="Spans longer than this are rejected with their path and reason, as "
        "spans that end before they start are.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names answered when serving open on loopback, besides localhost "
        "and loopback addresses (any other Host gets 400: a guard against DNS rebinding).",
    )
    allow_open: bool = Field(
        default=False,
        description="Serve without tokens on an address other than loopback. Never needed "
        "behind a proxy on loopback; only for a network you trust entirely.",
    )
    chat_requests_per_minute: int = Field(
        default=30, ge=1, description="Questions one token (or one address, when open) may ask."
    )
    discovery_runs_per_hour: int = Field(
        default=6, ge=1, description="Discovery runs one token may start through the API."
    )
    model_max_concurrency: int = Field(
        default=4, ge=1, description="Model calls in flight at once; more wait in a queue."
    )
    model_max_queue: int = Field(
        default=16, ge=0, description="Model calls that may wait; beyond it, answers are 429."
    )

    @property
    def model_prices(self) -> tuple[float, float]:
        """US dollars per million prompt and completion tokens."""
        return (
            self.model_usd_per_million_prompt_tokens,
            self.model_usd_per_million_completion_tokens,
        )

    @property
    def model_configured(self) -> bool:
        return self.openai_api_key is not None or self.model_base_url is not None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        if cls.config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.config_file))
        sources.append(file_secret_settings)
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from the environment, an optional TOML file and explicit overrides.

    Overrides that are ``None`` are ignored, so CLI options that were not given fall through
    to the environment and the file.
    """
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"config file {config_file} does not exist")
    if config_file is not None:
        _check_keys(config_file)

    class _FileSettings(Settings):
        pass

    _FileSettings.config_file = config_file

    given = {key: value for key, value in overrides.items() if value is not None}
    settings = Settings.model_validate(_FileSettings(**given).model_dump())
    from connectors.otlp.batch import set_max_span_duration

    set_max_span_duration(settings.max_span_duration_s)
    return settings


class SettingsError(ValueError):
    """Settings that cannot be used, said so that a person knows what to change."""


def _check_keys(config_file: Path) -> None:
    """A key the settings do not know is a mistake (``tempo_ulr``), never silently ignored."""
    try:
        document = tomllib.loads(config_file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{config_file} is not valid TOML: {exc}") from exc
    known = set(Settings.model_fields)
    for key in document:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise SettingsError(f"{config_file}: no setting is named {key}{hint}")


def describe_invalid(error: ValidationError) -> str:
    """``SPANWISE_TEMPO_READ_TIMEOUT_S (tempo_read_timeout_s): Input should be a valid
    number, 'abc'``: one line per problem, named as a person sets it."""
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "settings"
        given = problem.get("input")
        shown = f", not {given!r}" if isinstance(given, str | int | float | bool) else ""
        lines.append(
            f"SPANWISE_{field.upper()} (or {field} in a --config file): {problem['msg']}{shown}"
        )
    return "\n".join(lines)
