"""ChunkEncoder's text-frame template writes the bytes its dict encoding writes, for any
sequence of chunks (text with escapes and non-ASCII, tool calls, reasoning, model names, the
end with or without usage)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llm_router.api.openai_wire import ChunkEncoder
from llm_router.messages import ChatChunk, ToolCallDelta, Usage


class DictEncoder(ChunkEncoder):
    """The reference: every chunk encoded from dicts."""

    def encode(self, chunk: ChatChunk) -> bytes:
        self._text_frame = None
        return super().encode(chunk)


texts = st.text(alphabet=st.sampled_from('ab "\\\n\u00e9\U0001F600{}:'), max_size=6)
chunks = st.builds(
    ChatChunk, text=texts,
    tool_calls=st.lists(st.builds(ToolCallDelta, index=st.integers(0, 2), id=st.none() | st.just("c1"),
                                  name=st.none() | st.just("f"), arguments=texts), max_size=2).map(tuple),
    model=st.none() | st.sampled_from(["m", 'q"{"content":""}']), reasoning=st.sampled_from(["", "r"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(chunks, max_size=8), st.booleans(), st.sampled_from(["chatcmpl-1", 'x"{"content":""}']))
def test_text_frames_are_the_dict_encoding(stream: list[ChatChunk], usage: bool, completion_id: str) -> None:
    fast, reference = ChunkEncoder(completion_id, "m", usage), DictEncoder(completion_id, "m", usage)
    reference.head = fast.head  # the same "created"
    end = ChatChunk(finish_reason="stop", usage=Usage(3, 4))
    assert [fast.encode(c) for c in [*stream, end]] == [reference.encode(c) for c in [*stream, end]]
