import sys

from ciam_shared.devstack.mailsink.server import main

sys.exit(main())
