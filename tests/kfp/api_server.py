"""A stand-in for the Kubeflow Pipelines v2 REST API, on 127.0.0.1 only.

Implements just what kfp.Client 2.5 calls to deploy: the health check, pipeline
lookup, upload of a pipeline or of a version, version listing, experiment
lookup and creation, run creation. Every request is recorded, body included,
so tests can check what the client really sent.

Uploads, runs and request bodies are judged as the backend of the given
version judges them (tests/kfp/contract.py, tests/kfp/versions.py): an upload
is refused for what template.New refuses (schema version, pipeline name,
several specs, ...), a run for an executor the Argo compiler cannot run (a
TFX `resolver`), each with the real server's HTTP status and body. The
credentials check stands for what fronts the API server (the API server's
own health check takes any caller), so its answer is not versioned.
"""
import dataclasses
import email.parser
import email.policy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional
from urllib.parse import parse_qs, urlsplit

from tests.kfp import contract, gateway
from tests.kfp.versions import NEWEST, BackendVersion

API = "/apis/v2beta1"


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query: Dict[str, List[str]]
    headers: Dict[str, str]  # names in lowercase: HTTP's are case-insensitive
    body: bytes

    def json(self):
        return json.loads(self.body)

    def _upload_part(self):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode() + self.body
        )
        [part] = [p for p in message.iter_parts() if p.get_param("name", header="content-disposition") == "uploadfile"]
        return part

    def uploaded_file(self) -> bytes:
        """The `uploadfile` part of a multipart/form-data upload."""
        return self._upload_part().get_payload(decode=True)

    def uploaded_filename(self) -> str:
        return self._upload_part().get_filename() or ""


class FakeKfp:
    def __init__(self, token: Optional[str] = None, refuse_with: int = 401, version: BackendVersion = NEWEST):
        self.version = version
        self.token = token  # None: no authentication
        self.refuse_with = refuse_with
        self.requests: List[Request] = []
        self.pipelines: Dict[str, str] = {}  # display name -> id
        self.versions: Dict[str, List[str]] = {}  # pipeline id -> version ids
        # version id -> (pipeline spec, kubernetes platform spec or None), as
        # the server keeps them: a platform document it cannot read is dropped.
        self.specs: Dict[str, tuple] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> "FakeKfp":
        # A short poll: shutdown() waits for it, once per test.
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()

    def calls(self, method: str, path: str) -> List[Request]:
        return [r for r in self.requests if (r.method, r.path) == (method, API + path)]

    def _answer(self, request: Request):
        """(status, JSON body) for a request."""
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            return self.refuse_with, {"error": "invalid bearer token", "code": 16,
                                      "message": "Unauthenticated: invalid bearer token"}
        route = (request.method, request.path[len(API):])
        if route == ("GET", "/healthz"):
            return 200, {"multi_user": False}
        if route == ("GET", "/pipelines"):
            [name] = [p["stringValue"] for p in json.loads(request.query["filter"][0])["predicates"]]
            found = [{"pipeline_id": self.pipelines[name], "display_name": name}] if name in self.pipelines else []
            return 200, {"pipelines": found, "total_size": len(found)}
        if route == ("POST", "/pipelines/upload"):
            name = request.query["name"][0]
            documents = contract.check_upload(request.uploaded_filename(), request.uploaded_file(), True,
                                                  self.version, name)
            pipeline_id = self.pipelines[name] = f"pipeline-{len(self.pipelines) + 1}"
            self.versions[pipeline_id] = [f"{pipeline_id}-version-1"]
            self.specs[f"{pipeline_id}-version-1"] = documents
            return 200, {"pipeline_id": pipeline_id, "display_name": name}
        if route == ("POST", "/pipelines/upload_version"):
            documents = contract.check_upload(request.uploaded_filename(), request.uploaded_file(), False,
                                                  self.version, request.query["name"][0])
            pipeline_id = request.query["pipelineid"][0]
            versions = self.versions[pipeline_id]
            versions.append(f"{pipeline_id}-version-{len(versions) + 1}")
            self.specs[versions[-1]] = documents
            return 200, {"pipeline_id": pipeline_id, "pipeline_version_id": versions[-1],
                         "display_name": request.query["name"][0]}
        if request.method == "GET" and request.path.startswith(API + "/pipelines/") and request.path.endswith("/versions"):
            pipeline_id = request.path.split("/")[-2]
            newest_first = [{"pipeline_id": pipeline_id, "pipeline_version_id": v} for v in reversed(self.versions[pipeline_id])]
            return 200, {"pipeline_versions": newest_first, "total_size": len(newest_first)}
        if route == ("GET", "/experiments"):
            return 200, {}
        if route == ("POST", "/experiments"):
            gateway.check_request_body("experiment", request.json(), self.version)
            return 200, dict(request.json(), experiment_id="experiment-1")
        if route == ("POST", "/runs"):
            gateway.check_request_body("run", request.json(), self.version)
            # The server compiles the version's spec into an Argo workflow
            # here (2.5.0 resource_manager.go:498; 2.17.0 :669), and refuses
            # what it cannot compile.
            version_id = request.json().get("pipeline_version_reference", {}).get("pipeline_version_id")
            if version_id in self.specs:
                error = contract.compile_errors(*self.specs[version_id])
                if error:
                    raise contract.run_refusal(error, self.version)
            return 200, dict(request.json(), run_id="run-1", state="PENDING")
        return 404, {"error": f"no route {route}", "code": 5}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Request(
                    self.command, url.path, parse_qs(url.query),
                    {name.lower(): value for name, value in self.headers.items()}, body,
                )
                fake.requests.append(request)
                try:
                    status, answer = fake._answer(request)
                except contract.Refusal as refused:
                    status, answer = refused.status, refused.body
                text = isinstance(answer, str)  # what Go's http.Error writes
                payload = answer.encode() if text else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8" if text else "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *args):  # keep the test output clean
                pass

        return Handler
