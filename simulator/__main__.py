"""python -m simulator [--host 127.0.0.1] [--port 5055]"""

import argparse
import logging

from werkzeug.serving import run_simple

from simulator import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator",
                                     description="Offline Midtrans simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app()
    logging.getLogger("simulator").info("simulator.started url=http://%s:%s", args.host, args.port)
    run_simple(args.host, args.port, app, threaded=True)


if __name__ == "__main__":
    main()
