"""Creates every topic of the registry, dead-letter topics included, on the local broker."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

from clientbase.stack.coroutines import run_coroutine
from clientbase.stack.errors import StackError
from clientbase.topics import all_topic_names_and_partitions, topic_configs

REPLICATION_FACTOR = 1


async def create_missing_topics(bootstrap_servers: str, prefix: str = "") -> list[str]:
    """Create the registry's topics (under `prefix`, for an isolated run) that do not exist yet; return their names."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        configs = {prefix + name: config for name, config in topic_configs().items()}
        kept = [ConfigResource(ConfigResourceType.TOPIC, name, configs[name]) for name in sorted(existing & set(configs))]
        if kept:  # topics made before retention was configured keep their events from now on
            await admin.alter_configs(kept)
        missing = [
            NewTopic(prefix + name, partitions, REPLICATION_FACTOR, topic_configs=configs[prefix + name])
            for name, partitions in all_topic_names_and_partitions()
            if prefix + name not in existing
        ]
        if not missing:
            return []
        response = await admin.create_topics(missing)
        failures = []
        for name, code, *detail in response.topic_errors:
            if code != 0 and for_code(code) is not TopicAlreadyExistsError:
                failures.append(f"{name}: {for_code(code).__name__} {detail[0] if detail else ''}".rstrip())
        if failures:
            raise StackError("cannot create topics: " + "; ".join(failures))
        return [topic.name for topic in missing]
    finally:
        await admin.close()


def create_registry_topics(bootstrap_servers: str, prefix: str = "") -> list[str]:
    """Create the registry's topics (under `prefix`) that do not exist yet (replication 1) and return their names."""
    return run_coroutine(lambda: create_missing_topics(bootstrap_servers, prefix))
