"""moto's DynamoDB-compatible server for the tests, the demo and the benchmark, with one change:
requests are applied one at a time.

moto's own `moto_server` answers on several threads and its DynamoDB backend takes no lock, so
two TransactWriteItems arriving together can both pass their conditions before either writes:
a guarantee DynamoDB gives (transactions are isolated) that moto does not. Found by the test of
two relays appending to one conversation at once. Serialising requests restores it; connections
stay concurrent (keep-alive, threads), only the application of each request is one at a time.

Usage: dynamodb_local.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

LOCK = threading.Lock()
APP = DomainDispatcherApplication(create_backend_app)


def one_at_a_time(environ, start_response):
    with LOCK:
        # The whole answer is made under the lock, not only its first part.
        return list(APP(environ, start_response))


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    run_simple(host, port, one_at_a_time, threaded=True, request_handler=MotoRequestHandler)
