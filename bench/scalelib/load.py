def add_arguments(ap):
    pass


def run(args):
    raise SystemExit("todo")
