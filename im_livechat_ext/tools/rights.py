"""Who may choose how chats are routed: the checks every model of the module shares."""

MANAGER_GROUP = "im_livechat.im_livechat_group_manager"


def is_livechat_manager(env):
    """Live Chat managers (and the superuser) choose how chats are routed."""
    return env.su or env.user.has_group(MANAGER_GROUP)
