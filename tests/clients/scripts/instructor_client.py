"""instructor against the router: a response_model in TOOLS mode (default) and JSON mode."""

from __future__ import annotations

import instructor
from common import KEY, MODEL, URL, check, run
from openai import OpenAI
from pydantic import BaseModel


class Person(BaseModel):
    name: str
    age: int


def extract(mode: instructor.Mode) -> None:
    client = instructor.from_openai(OpenAI(base_url=URL, api_key=KEY, max_retries=0), mode=mode)
    person = client.chat.completions.create(model=MODEL, response_model=Person, max_retries=0,
                                            messages=[{"role": "user", "content": "Who is Ada, 36?"}])
    check((person.name, person.age) == ("Ada", 36), repr(person))


run([("tools", lambda: extract(instructor.Mode.TOOLS)), ("json", lambda: extract(instructor.Mode.JSON))])
