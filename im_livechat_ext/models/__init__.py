from . import im_livechat_expertise
from . import res_users
from . import res_users_settings
from . import im_livechat_channel
from . import discuss_channel
from . import chatbot_script
from . import chatbot_script_step
from . import im_livechat_operator_removal
