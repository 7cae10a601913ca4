"""Flower 1.42's real SecAgg+ run in one process, every message counted in Fleet API bytes.

`run_secaggplus` drives Flower's own `SecAggPlusWorkflow` (the server side) and a
`ClientApp` wrapped in Flower's `secaggplus_mod` (the client side), unmodified, over
`FleetGrid`: a small in-memory grid that carries every message the way a deployed
SuperLink and SuperNode do (Fleet API, Flower 1.42), through Flower's own
serialization:

* server to client: the SuperNode's ``PullMessagesRequest``, the SuperLink's
  ``PullMessagesResponse`` (the message without content, and its object tree), one
  ``PullObjectRequest``/``PullObjectResponse`` per object of the message (its
  `deflate` bytes: Message, RecordDict, each record, each array chunk), and the
  ``ConfirmMessageReceivedRequest``/``Response``;
* client to server: ``PushMessagesRequest`` (the reply without content, its object
  tree), ``PushMessagesResponse`` (the objects the SuperLink still lacks) and one
  ``PushObjectRequest``/``PushObjectResponse`` per such object.

Each is the protobuf Flower builds, counted by its serialized size (``ByteSize``,
what the SuperLink records as traffic for the requests and responses it handles).
The receiving side rebuilds the message from the deflated objects with Flower's
`inflate_object_from_contents`, so both ends see exactly what crossed. Not
counted: the transport under the protobufs (HTTP/2 or HTTP/1.1 headers, TLS),
polls that return no message, heartbeats, and the one-off GetRun/GetFab of a
node's first message of a run; the ServerApp-SuperLink link (one host).

Needs ``flwr==1.42.0`` (the ``flower`` extra): this module is only imported by
``benchmarks/profiles.py`` and its test.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.app.message.message import remove_content_from_message
from flwr.client import NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.common import ndarrays_to_parameters
from flwr.common.constant import SUPERLINK_NODE_ID
from flwr.common.serde import message_to_proto
from flwr.compat.common import recorddict_compat as compat
from flwr.proto.fleet_pb2 import (  # pylint: disable=E0611
    PullMessagesRequest,
    PullMessagesResponse,
    PushMessagesRequest,
    PushMessagesResponse,
    Reconnect,
)
from flwr.proto.message_pb2 import (  # pylint: disable=E0611
    ConfirmMessageReceivedRequest,
    ConfirmMessageReceivedResponse,
    PullObjectRequest,
    PullObjectResponse,
    PushObjectRequest,
    PushObjectResponse,
)
from flwr.proto.node_pb2 import Node  # pylint: disable=E0611
from flwr.server import ServerConfig
from flwr.server.client_manager import SimpleClientManager
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.strategy import FedAvg
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD
from flwr.server.workflow.constant import Key as WorkflowKey
from flwr.server.workflow.secure_aggregation.secaggplus_workflow import SecAggPlusWorkflow
from flwr.serverapp.grid import Grid
from flwr.supercore.inflatable.inflatable_object import (
    get_all_nested_objects,
    get_object_tree,
    iterate_object_tree,
)
from flwr.supercore.inflatable.inflatable_utils import inflate_object_from_contents
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity

STAGES = ("setup", "share_keys", "collect_masked_vectors", "unmask")
SESSION_ID = "00000000-0000-4000-8000-000000000000"  # the SuperLink's session: str(uuid4())


@dataclass
class Traffic:
    """Bytes that crossed the Fleet API, by client, stage and direction."""

    sent: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(
        lambda: defaultdict(int)))
    received: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(
        lambda: defaultdict(int)))
    messages: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def count(self, node: int, stage: str, up: int, down: int) -> None:
        self.sent[node][stage] += up
        self.received[node][stage] += down


def _transfer(objects: dict[str, object], tree, wanted: set[str]) -> dict[str, bytes]:
    """The deflated contents of the objects of `tree` in `wanted` (what crosses)."""
    return {t.object_id: objects[t.object_id].deflate()
            for t in iterate_object_tree(tree) if t.object_id in wanted}


class FleetGrid(Grid):
    """Delivers each message through the Fleet API's protobufs and counts them."""

    def __init__(self, app: ClientApp, node_ids: list[int], run_id: int, seed: int):
        self.app, self.node_ids, self._run_id = app, node_ids, run_id
        self.rng = np.random.default_rng([seed, 1])
        self.contexts = {nid: Context(run_id, nid, {}, RecordDict(), {}) for nid in node_ids}
        self.traffic = Traffic()

    # -- the Grid interface the workflow uses --------------------------------------------

    def set_run(self, run: Run) -> None:  # the run is fixed at construction
        pass

    @property
    def run(self) -> Run:
        return Run.create_empty(self._run_id)

    def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return list(self.node_ids)

    def push_messages(self, messages):
        raise NotImplementedError("SecAggPlusWorkflow only calls send_and_receive")

    def pull_messages(self, message_ids):
        raise NotImplementedError("SecAggPlusWorkflow only calls send_and_receive")

    def send_and_receive(self, messages: Iterable[Message], *,
                         timeout: float | None = None) -> Iterable[Message]:
        link_store: set[str] = set()  # objects the SuperLink holds in this stage
        replies = []
        for msg in messages:
            stage = str(msg.content.config_records["secaggplus_configs"]["stage"])
            replies.append(self._deliver(msg, stage, link_store))
        return replies

    # -- one instruction and its reply ---------------------------------------------------

    def _random_id(self) -> int:
        return int.from_bytes(self.rng.bytes(8), "little") or 2

    def _deliver(self, msg: Message, stage: str, link_store: set[str]) -> Message:
        nid = msg.metadata.dst_node_id
        node = Node(node_id=nid)
        self.traffic.messages[stage] += 2
        # SuperLink -> SuperNode: the instruction
        msg.metadata.__dict__["_message_id"] = msg.object_id
        objects = get_all_nested_objects(msg)
        tree = get_object_tree(msg)
        up = PullMessagesRequest(node=node).ByteSize()
        down = PullMessagesResponse(
            messages_list=[message_to_proto(remove_content_from_message(msg))],
            message_object_trees=[tree]).ByteSize()
        contents = _transfer(objects, tree, set(objects))
        for obj_id, content in contents.items():
            up += PullObjectRequest(node=node, run_id=self._run_id, object_id=obj_id).ByteSize()
            down += PullObjectResponse(object_found=True, object_available=True,
                                       object_content=content).ByteSize()
        up += ConfirmMessageReceivedRequest(node=node, run_id=self._run_id,
                                            message_object_id=msg.object_id).ByteSize()
        down += ConfirmMessageReceivedResponse().ByteSize()
        received = inflate_object_from_contents(msg.object_id, contents)
        received.metadata.__dict__["_message_id"] = msg.object_id
        received.metadata.__dict__["_dst_task_id"] = self._random_id()

        # the ClientApp (secaggplus_mod around the NumPyClient) on the SuperNode
        TaskIdentity.node_id, TaskIdentity.task_id = nid, received.metadata.dst_task_id
        reply = self.app(received, self.contexts[nid])

        # SuperNode -> SuperLink: the reply
        reply.metadata.__dict__["_message_id"] = reply.object_id
        objects = get_all_nested_objects(reply)
        tree = get_object_tree(reply)
        missing = [o for o in objects if o not in link_store]
        link_store.update(missing)
        up += PushMessagesRequest(
            node=node, messages_list=[message_to_proto(remove_content_from_message(reply))],
            message_object_trees=[tree], clientapp_runtime_list=[0.5]).ByteSize()
        down += PushMessagesResponse(
            reconnect=Reconnect(reconnect=5), results={reply.object_id: 0},
            objects_to_push=missing, session_id=SESSION_ID).ByteSize()
        contents = _transfer(objects, tree, set(missing))
        for obj_id, content in contents.items():
            up += PushObjectRequest(node=node, run_id=self._run_id, object_id=obj_id,
                                    object_content=content, session_id=SESSION_ID).ByteSize()
            down += PushObjectResponse(stored=True).ByteSize()
        self.traffic.count(nid, stage, up, down)
        contents = _transfer(objects, tree, set(objects))
        back = inflate_object_from_contents(reply.object_id, contents)
        back.metadata.__dict__["_message_id"] = reply.object_id
        TaskIdentity.node_id, TaskIdentity.task_id = SUPERLINK_NODE_ID, self.server_task
        return back


class _Contributor(NumPyClient):
    """A client whose "trained model" is its fixed vector (so the sum can be checked)."""

    def __init__(self, vector: np.ndarray):
        self.vector = vector

    def fit(self, parameters, config):
        return [self.vector], 1, {}


@dataclass
class FlowerRun:
    traffic: Traffic
    node_ids: list[int]
    total: np.ndarray
    expected: np.ndarray


def run_secaggplus(n: int, length: int, num_shares: int, threshold: int,
                   seed: int = 0, model: np.ndarray | None = None) -> FlowerRun:
    """One SecAgg+ aggregation of `length` values by `n` clients in Flower 1.42.

    `model` is the global model that the stage-2 instruction carries (a FedAvg
    round); without it the FitIns carries no parameters, so the bytes are those
    of secure aggregation alone.
    """
    rng = np.random.default_rng([seed, 0])
    node_ids = [int.from_bytes(rng.bytes(8), "little") for _ in range(n)]
    run_id = int.from_bytes(rng.bytes(8), "little")
    # values on Flower's quantization grid: clip 8, 2^22 levels, exact after the round trip
    levels = rng.integers(0, 2**20, size=(n, length))
    vectors = {nid: (levels[i] * (16 / 2**22) - 8.0) for i, nid in enumerate(node_ids)}
    app = ClientApp(client_fn=lambda ctx: _Contributor(vectors[ctx.node_id]).to_client(),
                    mods=[secaggplus_mod])
    grid = FleetGrid(app, node_ids, run_id, seed)
    grid.server_task = int.from_bytes(rng.bytes(8), "little")
    TaskIdentity.run_id, TaskIdentity.node_id = run_id, SUPERLINK_NODE_ID
    TaskIdentity.task_id = grid.server_task
    manager = SimpleClientManager()
    for nid in node_ids:
        manager.register(GridClientProxy(nid, grid, run_id))
    strategy = FedAvg(fraction_fit=1.0, min_fit_clients=n, min_available_clients=n,
                      fraction_evaluate=0.0)
    context = LegacyContext(Context(run_id, SUPERLINK_NODE_ID, {}, RecordDict(), {}),
                            config=ServerConfig(num_rounds=1), strategy=strategy,
                            client_manager=manager)
    context.state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord(
        {WorkflowKey.CURRENT_ROUND: 1})
    context.state.array_records[MAIN_PARAMS_RECORD] = ArrayRecord() if model is None else \
        compat.parameters_to_arrayrecord(ndarrays_to_parameters([model]), keep_input=True)
    os.environ.setdefault("FLWR_LOG_LEVEL", "ERROR")
    SecAggPlusWorkflow(num_shares, threshold)(grid, context)
    got = context.state.array_records[MAIN_PARAMS_RECORD].to_numpy_ndarrays()[0]
    return FlowerRun(grid.traffic, node_ids, got, sum(vectors.values()) / n)
