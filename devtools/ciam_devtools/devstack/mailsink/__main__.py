import sys

from ciam_devtools.devstack.mailsink.server import main

sys.exit(main())
