"""Every error the bus raises; each message says what was wrong and what to do."""

from __future__ import annotations


class BusError(Exception):
    """Base class of every error raised by the event bus."""


class ConfigurationError(BusError):
    """The bus settings are missing or inconsistent."""


class BusUnavailable(BusError):
    """Redis could not be reached or answered with a connection error."""


class TopicError(BusError):
    """A topic name or definition is invalid."""


class UnknownTopic(TopicError):
    """The named topic does not exist."""


class InvalidTopicName(TopicError):
    """A topic name does not match the allowed pattern."""


class PartitionShrink(TopicError):
    """A topic's partition count was lowered (partitions can only grow)."""


class EventError(BusError):
    """An event could not be built or published."""


class InvalidEventType(EventError):
    """An event type name is malformed."""


class UnknownEventType(EventError):
    """The event type is not declared for the topic."""


class SchemaViolation(EventError):
    """The event's data does not match its JSON Schema."""


class NotSerializable(EventError):
    """The event's data cannot be encoded as JSON."""


class EventTooLarge(EventError):
    """The encoded event is larger than the configured limit."""


class SchemaError(BusError):
    """A declared JSON Schema is invalid."""


class SchemaCompatibilityError(SchemaError):
    """A new schema version is not backward compatible with the previous one."""


class BatchError(EventError):
    """One or more events of a batch are invalid; nothing of the batch was written."""

    def __init__(self, errors: list[tuple[int, EventError]]) -> None:
        self.errors = errors
        lines = "; ".join(f"#{index}: {error}" for index, error in errors[:10])
        more = f" (+{len(errors) - 10} more)" if len(errors) > 10 else ""
        super().__init__(
            f"{len(errors)} event(s) of the batch are invalid, so none was "
            f"published: {lines}{more}. Fix them and publish the batch again."
        )


class DurabilityError(BusError):
    """Strict durability was asked for but the server cannot give it."""


class GroupError(BusError):
    """A consumer-group operation failed."""


class UnknownGroup(GroupError):
    """The consumer group does not exist on the topic."""


class GroupExists(GroupError):
    """The consumer group already exists on the topic."""


class PositionNotFound(GroupError):
    """A reset target (event id or position) does not exist in the partition."""


class InvalidReset(GroupError):
    """The reset request is malformed."""


class InvalidGroupName(GroupError):
    """A consumer-group name does not match the allowed pattern."""


class LeaseLost(BusError):
    """A lease expired or was taken over while its holder was still working."""


class ReadError(BusError):
    """A read of a topic's log (range, page or tail) was malformed."""


class InvalidRange(ReadError):
    """A start/end bound or read option could not be understood."""


class InvalidCursor(ReadError):
    """A paging cursor is corrupt or belongs to another query."""


class SubscriptionError(BusError):
    """A subscription is declared wrongly."""


class HandlerTimeout(BaseException):
    """A handler ran past its subscription's timeout.

    Raised inside the handler's thread by the runtime's watchdog. A
    BaseException, like KeyboardInterrupt, so a handler's ``except Exception``
    cannot swallow it and keep running.
    """


class WorkerDied(BusError):
    """The worker handling an event died (crash, OOM kill, os._exit) too often.

    Never raised: it is the error of the dead letter the runtime writes
    instead of delivering such an event again.
    """


class DeadLetterError(BusError):
    """A dead-letter operation failed."""


class DeadLetterNotFound(DeadLetterError):
    """No dead letter with that id is in the group's dead-letter stream."""


class InvalidDeadLetterQuery(DeadLetterError):
    """A dead-letter id or selection (ids, filters, all) is malformed."""


class FeedError(BusError):
    """The WebSocket feed refused a request or closed the connection for good."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code  # the WebSocket close code, when the server sent one


class FeedAuthError(FeedError):
    """The feed refused the token or a policy (close 1008); retrying cannot help."""
