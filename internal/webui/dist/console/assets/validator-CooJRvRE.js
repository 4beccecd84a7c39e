import{cp as i}from"./index-CW_4XFzT.js";const n=o=>["",...i].includes(o);export{n as i};
