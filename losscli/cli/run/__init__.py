"""The bodies of the commands, one module each (``run``): what a command does once its
options are parsed, imported only then (:func:`losscli.cli.commands.body`, through
:data:`losscli.cli.COMMANDS`). Each imports what it needs at its top: the API, the
renderers, the output guard. Their declarations (options, help, TAB completion) are
:mod:`losscli.cli.commands`."""
