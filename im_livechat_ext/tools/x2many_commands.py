"""Reading x2many commands without running them."""

from odoo.fields import Command
from odoo.models import BaseModel

# the commands that only add or remove links to records that already exist
LINK_COMMANDS = {Command.UNLINK, Command.LINK, Command.CLEAR, Command.SET}


def linked_ids(commands):
    """Ids that `commands` link (set or link), or None when they do more than
    link or unlink existing records (create, update, delete, or anything that
    is not a command at all)."""
    if commands is False or commands is None:
        return []
    if isinstance(commands, BaseModel):
        return list(commands.ids)
    if not isinstance(commands, (list, tuple)):
        return None
    ids = []
    for command in commands:
        if isinstance(command, int) and not isinstance(command, bool):
            ids.append(command)  # a bare id, as the ORM accepts
            continue
        if not isinstance(command, (list, tuple)) or not command or command[0] not in LINK_COMMANDS:
            return None
        if command[0] == Command.SET:
            if len(command) < 3 or not isinstance(command[2], (list, tuple)):
                return None
            if not all(isinstance(record_id, int) and not isinstance(record_id, bool) for record_id in command[2]):
                return None
            ids += command[2]
        elif command[0] in (Command.LINK, Command.UNLINK):
            if len(command) < 2 or not isinstance(command[1], int) or isinstance(command[1], bool):
                return None
            if command[0] == Command.LINK:
                ids.append(command[1])
    return ids
