"""Publish requests to the prompts topic and read results from the results topic (read_committed)."""
import time
from typing import Iterable, Iterator, Optional

from confluent_kafka import Consumer, KafkaException, Producer

from . import requests as req
from .result import RESULT_SCHEMA, RoutingResult
from .wire import STORE


def publish(bootstrap: str, topic: str, requests: Iterable[dict], avro: bool = False, **config) -> int:
    """Sends each request keyed by its rid (JSON lines, or Avro PromptEvents when ``avro``) with an idempotent
    producer; returns how many the broker acknowledged and raises if any was refused."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", **config})
    errors = []

    def ack(err, msg):
        if err is not None:
            errors.append(f"{msg.key().decode('utf-8', 'replace')}: {err}")

    sent = 0
    for r in requests:
        value = STORE.encode(req.PROMPT_SCHEMA, req.to_prompt_event(r)) if avro else req.to_json(r)
        producer.produce(topic, key=r["rid"].encode("utf-8"), value=value, on_delivery=ack)
        producer.poll(0)
        sent += 1
    producer.flush()
    if errors:
        raise KafkaException(f"{len(errors)} of {sent} request(s) were not published: {errors[:5]}")
    return sent


def read_results(bootstrap: str, topic: str, group_id: str, max_results: Optional[int] = None,
                 idle_seconds: float = 30.0, **config) -> Iterator[RoutingResult]:
    """Yields results as the job commits them (``isolation.level=read_committed``: a result is visible once the
    job's checkpoint commits its transaction). Offsets are committed after a result has been yielded and the caller
    asked for the next one, so a crash re-delivers at most the result being handled. Stops after ``max_results`` or
    ``idle_seconds`` without a record. A value that cannot be decoded raises, naming partition and offset: nothing
    is skipped silently."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "isolation.level": "read_committed",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False, **config})
    consumer.subscribe([topic])
    got, last = 0, time.monotonic()
    try:
        while max_results is None or got < max_results:
            msg = consumer.poll(0.5)
            if msg is None:
                if time.monotonic() - last > idle_seconds:
                    return
                continue
            if msg.error():
                raise KafkaException(msg.error())
            try:
                result = RoutingResult.from_record(STORE.decode(msg.value(), expect=RESULT_SCHEMA))
            except Exception as e:
                raise ValueError(f"{topic}[{msg.partition()}] offset {msg.offset()} "
                                 f"(key {msg.key()!r}): {e}") from e
            got, last = got + 1, time.monotonic()
            yield result
            consumer.commit(message=msg, asynchronous=False)
    finally:
        consumer.close()
