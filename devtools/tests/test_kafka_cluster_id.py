"""The cluster id given to Kafka's storage tool: one that starts with "-" was taken for an
option by the tool's argument parser, and the broker did not start (one start in 64)."""

from __future__ import annotations

from pathlib import Path

from ciam_devtools.devstack import free_ports
from ciam_devtools.devstack.kafka import KafkaNode, format_storage, new_cluster_id


def test_a_new_cluster_id_never_starts_with_a_dash() -> None:
    # 2,000 draws: with a plain base64 UUID about 31 would start with "-".
    ids = [new_cluster_id() for _ in range(2000)]
    assert not [made for made in ids if made.startswith("-")]
    assert all(len(made) == 22 for made in ids)


def test_a_kept_cluster_id_that_starts_with_a_dash_still_formats(tmp_path: Path) -> None:
    # A workdir kept from before the fix may hold such an id: it is passed as --cluster-id=ID.
    kept = "-" + new_cluster_id()[1:]
    (tmp_path / "cluster.id").write_text(kept + "\n")
    port = free_ports(2)
    node = KafkaNode(node_id=1, port=port, controller_port=port + 1, workdir=tmp_path)
    format_storage([node], tmp_path)
    assert node.formatted
    meta = (tmp_path / "logs" / "meta.properties").read_text()
    assert f"cluster.id={kept}" in meta
