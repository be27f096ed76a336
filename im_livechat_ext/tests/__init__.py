from . import test_chatbot_forward
from . import test_expertise_and_rights
from . import test_routing
from . import test_visitor_session
from . import test_ui
from . import test_concurrency
from . import test_i18n
from . import test_ui_website
