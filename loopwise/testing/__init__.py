"""Testing helpers shipped with loopwise, for its own tests and for users' tests."""

from loopwise.collector.sdk import SequentialIdGenerator, TestingExporter, TickingClock

from .openai_stub import Behavior, OpenAIStub

__all__ = ["Behavior", "OpenAIStub", "SequentialIdGenerator", "TestingExporter", "TickingClock"]
