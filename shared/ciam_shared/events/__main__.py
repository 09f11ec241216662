"""Export every event schema as JSON Schema: `python -m ciam_shared.events [out_dir]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ciam_shared.events import event_type_registry


def export(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, model in sorted(event_type_registry().items()):
        schema = model.model_json_schema()
        schema["$id"] = f"urn:ciam:event:{event_type}"
        schema["x-cloudevents-type"] = event_type
        schema["x-kafka-topic"] = model.topic_base_name
        path = out_dir / f"{event_type}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("shared/schemas")
    for path in export(target):
        print(path)
