from . import im_livechat_report_channel
