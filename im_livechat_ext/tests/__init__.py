from . import test_chatbot_forward
from . import test_routing
from . import test_visitor_session
