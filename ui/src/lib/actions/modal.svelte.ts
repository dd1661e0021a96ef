// How many modal dialogs are open: screen shortcuts (j/k, Enter, Escape) stand down meanwhile.
class ModalCount {
  open = $state(0);
}

export const modals = new ModalCount();
