"""A landscape with only the base protocol: the wrapped landscape without its batched-loss
capability, so that code which would evaluate many points together falls back to one at
a time (tests compare the two)."""


class Unbatched:
    def __init__(self, landscape):
        self.inner, self.dim = landscape, landscape.dim

    def loss_graph(self, params):
        return self.inner.loss_graph(params)

    def loss(self, params):
        return self.inner.loss(params)

    def loss_and_grad(self, params):
        return self.inner.loss_and_grad(params)

    def minibatch_loss_and_grad(self, params, step):
        return self.inner.minibatch_loss_and_grad(params, step)

    def initial_params(self, seed=0):
        return self.inner.initial_params(seed)
