"""The catalogue of service categories and kinds shared by members, posts and the three lists."""
