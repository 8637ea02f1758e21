"""Type stubs of the native module (Rust, via PyO3)."""
from collections.abc import Callable
from typing import Any, final

__version__: str
__all__ = [
    "AlreadyExistsError", "BackendError", "DeliberationCancelledError", "DeliberationTimeoutError", "Driver", "Endpoint",
    "InvalidInputError", "NativeAgent", "NativeOrchestrator", "NativeScorer", "NoAgentsError", "NotFoundError", "OrchestratorError",
    "PermissionDeniedError", "QuorumNotReachedError", "__version__", "prepare", "run_tests",
]

class OrchestratorError(Exception):
    """Base class of every orchestrator error."""

class InvalidInputError(OrchestratorError):
    """A bad value; the message names the field and the limit."""

class NoAgentsError(OrchestratorError):
    """The role has no agents registered."""

class NotFoundError(OrchestratorError):
    """A council, agent or task does not exist."""

class AlreadyExistsError(OrchestratorError):
    """The council or agent already exists."""

class BackendError(OrchestratorError):
    """A backend (LLM endpoint, store) failed or could not be reached."""

class DeliberationTimeoutError(OrchestratorError):
    """The deliberation deadline passed; in-flight calls were cancelled."""

class QuorumNotReachedError(OrchestratorError):
    """Too few proposals survived agent failures."""

class DeliberationCancelledError(OrchestratorError):
    """The deliberation was cancelled."""

class PermissionDeniedError(OrchestratorError):
    """The configuration does not allow this request."""

@final
class Driver:
    """A core deliberation future driven from an asyncio event loop."""
    def start(self, event_loop: Any, result: Any) -> None:
        """Bind to the loop and the asyncio future that receives the outcome, and poll once."""
    def poll(self) -> None:
        """Poll once (scheduled by the future's waker)."""
    def cancel(self) -> None:
        """Drop the future, cancelling every in-flight call."""

@final
class Endpoint:
    """An LLM endpoint shared by agents and judges: one rate limit, one in-flight cap and one
    circuit breaker for all of them. The key defaults to ``OPENAI_API_KEY`` /
    ``ANTHROPIC_API_KEY`` and is never shown."""
    def __new__(
        cls,
        base_url: str,
        provider: str = "openai",
        api_key: str | None = None,
        timeout: float = 120.0,
        max_attempts: int = 3,
        requests_per_minute: int = 0,
        max_in_flight: int = 16,
    ) -> Endpoint: ...
    @property
    def base_url(self) -> str:
        """The base URL."""
    @property
    def timeout(self) -> float:
        """The per-call timeout, seconds."""
    def circuit_open(self) -> bool:
        """Whether the circuit breaker is open now."""

@final
class NativeAgent:
    """A Rust agent (LLM or scripted) usable next to Python agents."""
    @staticmethod
    def llm(
        agent_id: str,
        model: str,
        base_url: str | None = None,
        role: str = "DEV",
        provider: str | None = None,
        temperature: float = 0.7,
        max_tokens: int = 512,
        api_key: str | None = None,
        timeout: float | None = None,
        max_attempts: int | None = None,
        requests_per_minute: int | None = None,
        max_in_flight: int | None = None,
        endpoint: Endpoint | None = None,
        api: str = "chat",
    ) -> NativeAgent:
        """An LLM agent on an OpenAI-compatible (``provider="openai"``) or Anthropic endpoint:
        its own (``base_url`` and the settings; defaults as on :class:`Endpoint`) or a shared
        ``endpoint=`` (then the settings belong to the endpoint and are refused here). The key
        defaults to ``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY`` and is never logged."""
    @staticmethod
    def scripted(
        agent_id: str,
        role: str = "DEV",
        latency: float = 0.0,
        replies: list[str] | None = None,
        fail_on: tuple[str, int] | None = None,
    ) -> NativeAgent:
        """A scripted test agent (no network)."""
    @property
    def agent_id(self) -> str:
        """The agent id."""
    @property
    def role(self) -> str:
        """The role."""

@final
class NativeScorer:
    """A Rust scorer."""
    @staticmethod
    def policy(rules: list[tuple[str, str]] | None = None) -> NativeScorer:
        """Deny patterns as ``(name, regex)`` pairs; ``None`` uses the defaults."""
    @staticmethod
    def echo() -> NativeScorer:
        """Fails a proposal that is mostly copied from the task or the agents' prompt."""
    @staticmethod
    def requirements(word_coverage: float = 1.0) -> NativeScorer:
        """Which listed requirements the proposal addresses."""
    @staticmethod
    def command(
        name: str,
        program: str,
        args: list[str] = ...,
        input: str = "stdin",
        suffix: str = "",
        timeout: float = 30.0,
        category: str = "lint",
    ) -> NativeScorer:
        """Run a program on the proposal (stdin, or ``input="file"`` with ``{file}`` in args);
        exit status 0 passes. No shell, clean environment, output truncated, timeout enforced."""
    @staticmethod
    def judge(
        model: str,
        base_url: str | None = None,
        provider: str | None = None,
        api_key: str | None = None,
        pass_threshold: float = 0.7,
        max_tokens: int = 128,
        timeout: float | None = None,
        endpoint: Endpoint | None = None,
    ) -> NativeScorer:
        """An LLM judge grading against the rubric and requirements in strict JSON."""
    @property
    def name(self) -> str:
        """The check name."""

@final
class NativeOrchestrator:
    """The core Orchestrator: councils from a config, kept in memory, and deliberations resolved
    from requests as the service resolves them."""
    def __new__(cls, config_yaml: str | None = None, use_env: bool = True) -> NativeOrchestrator: ...
    def create_council(
        self,
        role: str,
        num_agents: int = 0,
        agent_type: str = "llm",
        rounds: int = 0,
        peer_review: bool = True,
        model_profile: str = "",
        custom_params: dict[str, str] | None = None,
    ) -> list[str]: ...
    def delete_council(self, role: str) -> int: ...
    def register_agent(
        self, role: str, agent_id: str, endpoint: str = "", agent_type: str | None = None, model: str = ""
    ) -> str: ...
    def unregister_agent(self, role: str, agent_id: str) -> None: ...
    def councils(self) -> list[tuple[str, list[str]]]: ...
    def prepare(self, request: Any, on_event: Callable[[str], None] | None = None) -> Driver: ...

def run_tests(proposal: str, suite: tuple[str, str, str, int]) -> list[tuple[str, bool, str]]:
    """Run a suite against a proposal in the sandbox; ``(case, passed, message)`` per case."""

def prepare(spec: Any, on_event: Callable[[str], None] | None = None) -> Driver:
    """Validate and build a deliberation bound to a Driver (used by ``orchestrator.Deliberation``)."""
